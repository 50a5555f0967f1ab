//! A generated organisation at scale, for benchmarks (`yardstick demo --scale
//! small|medium|enterprise`): a company, its divisions and teams, people with their roles,
//! eight quarters around today, initiatives, epics in every state and type of work, their
//! anticipated outcomes with measurements and closed loops, objectives cascaded three levels
//! deep with key results and weekly check-ins, and audit rows.
//!
//! Every row is made inside PostgreSQL (`INSERT … SELECT` over `generate_series`), so nothing
//! crosses the connection but the statements. It is reproducible: ids are hashes of each
//! row's number, and every "random" choice is `hashint8extended` of the row's number and a
//! salt, so the same scale on the same day gives the same organisation. The whole load is one
//! transaction with the rollup triggers off (the rollups are rebuilt once at the end, by the
//! same code the dashboard uses), so a failure leaves the database as it was.

use std::time::Instant;

use chrono::{Months, NaiveDate};
use sqlx::{ConnectOptions, PgPool};

use crate::periods::model::quarter_of;

/// How big an organisation to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// About 250 people and 2,000 epics: seconds (CI's smoke run).
    Small,
    /// About 2,500 people and 20,000 epics.
    Medium,
    /// About 25,000 people, 600 teams, 20,000 initiatives, 200,000 epics, 400,000 outcomes,
    /// 1,200,000 measurements, 40,000 objectives, 150,000 key results, 2,000,000 check-ins.
    Enterprise,
}

/// The counts a scale makes.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub people: i64,
    pub divisions: i64,
    pub teams: i64,
    pub initiatives: i64,
    pub epics: i64,
    /// Objectives each team sets per quarter (divisions set 5, the company 5).
    pub team_objectives: i64,
}

impl Scale {
    pub fn sizes(self) -> Sizes {
        match self {
            Scale::Small => Sizes {
                people: 250,
                divisions: 3,
                teams: 12,
                initiatives: 200,
                epics: 2_000,
                team_objectives: 4,
            },
            Scale::Medium => Sizes {
                people: 2_500,
                divisions: 10,
                teams: 60,
                initiatives: 2_000,
                epics: 20_000,
                team_objectives: 8,
            },
            Scale::Enterprise => Sizes {
                people: 25_000,
                divisions: 30,
                teams: 600,
                initiatives: 20_000,
                epics: 200_000,
                team_objectives: 8,
            },
        }
    }
}

/// Quarters generated: five before the current one, the current one, two after.
const QUARTERS: i64 = 8;
/// The current quarter's place among them (0-based).
const CURRENT: i64 = 5;

/// `r(n, salt)`: a number in [0, 1) fixed by `n` and `salt`; `pick(n, salt, k)`: 0..k-1.
const FUNCTIONS: &[&str] = &[
    "CREATE OR REPLACE FUNCTION pg_temp.r(n bigint, salt bigint) RETURNS float8
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
        $$ SELECT (hashint8extended(n, salt) & 2147483647)::float8 / 2147483648.0 $$",
    "CREATE OR REPLACE FUNCTION pg_temp.pick(n bigint, salt bigint, k bigint) RETURNS bigint
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
        $$ SELECT (hashint8extended(n, salt) & 2147483647) % k $$",
    "CREATE OR REPLACE FUNCTION pg_temp.uid(kind text, n bigint) RETURNS uuid
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT md5(kind || ':' || n)::uuid $$",
];

/// Tables whose triggers leave marks (the dashboards', the epic pages'): off during the load.
const MARKED: &[&str] = &[
    "epics",
    "initiatives",
    "outcomes",
    "outcome_key_results",
    "people",
    "objectives",
    "key_results",
    "audit_log",
    "outcome_checkpoints",
];

/// Triggers that leave the key result pages' marks on tables whose other triggers stay on
/// during the load.
const MARKING: &[(&str, &str)] = &[
    ("check_ins", "check_ins_objective_marks"),
    ("measurements", "measurements_objective_marks"),
];

/// Tables whose secondary indexes are dropped during the load and built again after it
/// (building an index over loaded rows is many times faster than growing it row by row).
/// Indexes that back a constraint (primary keys, uniques) stay.
const REINDEXED: &[&str] = &[
    "epics",
    "outcomes",
    "measurements",
    "objectives",
    "key_results",
    "check_ins",
    "outcome_key_results",
    "audit_log",
];

/// One step of the load: what it makes, and the statement.
struct Step {
    what: &'static str,
    sql: String,
}

fn steps(s: Sizes, today: NaiveDate) -> Vec<Step> {
    let (people, divisions, teams) = (s.people, s.divisions, s.teams);
    let (initiatives, epics) = (s.initiatives, s.epics);
    let today = format!("DATE '{today}'");
    vec![
        Step {
            what: "org units",
            sql: format!(
                "INSERT INTO org_units (id, parent_id, name, kind)
                 SELECT pg_temp.uid('unit', 0), NULL, 'Acme Learning', 'company'
                 UNION ALL
                 SELECT pg_temp.uid('unit', d), pg_temp.uid('unit', 0),
                        (ARRAY['Learner Experience','Platform','Growth','Content','Payments','Data','Mobile','Enterprise',
                               'Marketplace','Trust'])[1 + d % 10] || ' ' || d, 'division'
                   FROM generate_series(1, {divisions}) d
                 UNION ALL
                 SELECT pg_temp.uid('unit', 1000 + t), pg_temp.uid('unit', 1 + t % {divisions}),
                        (ARRAY['Onboarding','Search','Checkout','Assessments','Recommendations','Billing','Notifications',
                               'Identity','Reporting','Catalogue','Messaging','Analytics'])[1 + t % 12] || ' ' || t + 1, 'team'
                   FROM generate_series(0, {teams} - 1) t"
            ),
        },
        Step {
            what: "org unit tree",
            sql: "INSERT INTO org_unit_tree (ancestor_id, descendant_id, depth)
                  SELECT id, id, 0 FROM org_units
                  UNION ALL SELECT parent_id, id, 1 FROM org_units WHERE parent_id IS NOT NULL
                  UNION ALL SELECT p.parent_id, u.id, 2 FROM org_units u JOIN org_units p ON p.id = u.parent_id
                             WHERE p.parent_id IS NOT NULL"
                .to_string(),
        },
        Step {
            what: "people",
            sql: format!(
                "INSERT INTO people (id, name, email, title)
                 SELECT pg_temp.uid('person', p),
                        (ARRAY['Ana','Bo','Chloe','Daniel','Erik','Fatima','Gustav','Hana','Ivan','Julia','Kwame','Lena',
                               'Maya','Nadia','Oliver','Priya','Quentin','Rosa','Samuel','Tomás','Uma','Victor','Wen','Yuki'])[1 + p % 24]
                        || ' ' ||
                        (ARRAY['Okafor','Lima','Chen','Dubois','Johansson','Haddad','Iyer','Berg','Moreau','Khan','Alves',
                               'Mehta','Sato','Adeyemi','Fischer','Mensah','Herrera','Marino','Tanaka','Grant'])[1 + (p / 24) % 20],
                        'p' || p || '@acme.example',
                        CASE WHEN p < {teams} THEN 'Product manager' WHEN p < 2 * {teams} THEN 'Tech lead' ELSE 'Engineer' END
                   FROM generate_series(0, {people} - 1) p"
            ),
        },
        Step {
            what: "memberships",
            // Person p works in team p % teams: the first of each team is its product
            // manager, the second its tech lead; a few lead divisions and the company.
            sql: format!(
                "INSERT INTO memberships (person_id, org_unit_id, role)
                 SELECT pg_temp.uid('person', p), pg_temp.uid('unit', 1000 + p % {teams}),
                        CASE p / {teams} WHEN 0 THEN 'product_manager' WHEN 1 THEN 'tech_lead' ELSE 'engineer' END
                   FROM generate_series(0, {people} - 1) p
                 UNION ALL
                 SELECT pg_temp.uid('person', 2 * {teams} + d), pg_temp.uid('unit', 1 + d), 'leader'
                   FROM generate_series(0, {divisions} - 1) d
                 UNION ALL
                 SELECT pg_temp.uid('person', 2 * {teams} + {divisions}), pg_temp.uid('unit', 0), 'leader'"
            ),
        },
        Step {
            what: "initiatives",
            sql: format!(
                "INSERT INTO initiatives (id, org_unit_id, owner_id, title, description, status, created_at)
                 SELECT pg_temp.uid('initiative', i), pg_temp.uid('unit', 1 + i % {divisions}),
                        pg_temp.uid('person', 2 * {teams} + i % {divisions}),
                        (ARRAY['Grow','Simplify','Modernise','Open up','Protect','Speed up'])[1 + pg_temp.pick(i, 1, 6)] || ' ' ||
                        (ARRAY['enrolment','checkout','course discovery','assessments','the data platform','mobile learning',
                               'partner payouts','search'])[1 + pg_temp.pick(i, 2, 8)] || ' ' || i,
                        'Generated initiative ' || i,
                        (ARRAY['proposed','active','active','active','done','cancelled'])[1 + pg_temp.pick(i, 3, 6)],
                        {today} - (30 + pg_temp.pick(i, 4, 600))::int
                   FROM generate_series(1, {initiatives}) i"
            ),
        },
        Step {
            what: "initiative periods",
            sql: format!(
                "INSERT INTO initiative_periods (initiative_id, period_id)
                 SELECT pg_temp.uid('initiative', i), pg_temp.uid('period', q)
                   FROM generate_series(1, {initiatives}) i
                  CROSS JOIN LATERAL (SELECT DISTINCT q FROM (VALUES (pg_temp.pick(i, 5, {QUARTERS})),
                                                                     (least({QUARTERS} - 1, pg_temp.pick(i, 5, {QUARTERS}) + 1))) v (q)) q"
            ),
        },
        Step {
            what: "epics",
            // Each epic's quarter sets its state: finished quarters are mostly measured or
            // closed, the current one in progress, later ones drafts.
            sql: format!(
                "WITH g AS (
                     SELECT e, pg_temp.pick(e, 10, {QUARTERS}) AS q, pg_temp.r(e, 11) AS s, e % {teams} AS t
                       FROM generate_series(1, {epics}) e),
                 x AS (
                     SELECT g.*, p.starts_on, p.ends_on,
                            CASE WHEN g.q < {CURRENT} THEN
                                      CASE WHEN s < 0.45 THEN 'closed' WHEN s < 0.80 THEN 'measuring'
                                           WHEN s < 0.90 THEN 'cancelled' ELSE 'in_progress' END
                                 WHEN g.q = {CURRENT} THEN
                                      CASE WHEN s < 0.20 THEN 'measuring' WHEN s < 0.60 THEN 'in_progress'
                                           WHEN s < 0.85 THEN 'ready' WHEN s < 0.95 THEN 'draft' ELSE 'cancelled' END
                                 ELSE CASE WHEN s < 0.7 THEN 'draft' ELSE 'ready' END END AS status,
                            (ARRAY['feature','feature','feature','feature','feature','feature','tech_debt','tech_debt',
                                   'defect','risk'])[1 + pg_temp.pick(e, 12, 10)] AS work_type
                       FROM g JOIN periods p ON p.id = pg_temp.uid('period', g.q))
                 INSERT INTO epics (id, initiative_id, team_id, owner_id, period_id, work_type, title, description,
                                    why_now, validation_plan, tracker_key, status, value, value_label, confidence,
                                    effort_weeks, created_at, updated_at, ready_at, started_at, delivered_at,
                                    measuring_at, closed_at, cancelled_at)
                 SELECT pg_temp.uid('epic', e),
                        CASE WHEN pg_temp.r(e, 13) < 0.7 THEN pg_temp.uid('initiative', 1 + pg_temp.pick(e, 14, {initiatives})) END,
                        pg_temp.uid('unit', 1000 + t),
                        pg_temp.uid('person', CASE WHEN work_type = 'feature' THEN t ELSE {teams} + t END),
                        pg_temp.uid('period', q), work_type,
                        (ARRAY['Improve','Redesign','Speed up','Simplify','Automate','Fix','Harden','Launch'])[1 + pg_temp.pick(e, 15, 8)]
                        || ' ' ||
                        (ARRAY['onboarding checklist','course search','checkout flow','quiz feedback','progress emails',
                               'invoice export','mobile player','certificate download','team dashboards','content import',
                               'payment retries','login with SSO'])[1 + pg_temp.pick(e, 16, 12)] || ' #' || e,
                        'Generated epic ' || e || ': what changes for learners and why.',
                        'Planned for ' || to_char(starts_on, 'YYYY') || '.', 'Watch the metric for a month after release.',
                        'ACME-' || e, status,
                        (1000 * (1 + pg_temp.pick(e, 17, 50)))::numeric, 'EUR', (3 + pg_temp.pick(e, 18, 7))::smallint,
                        (1 + pg_temp.pick(e, 19, 12))::numeric,
                        starts_on - 20 + pg_temp.pick(e, 20, 15)::int,
                        starts_on + 40,
                        CASE WHEN status NOT IN ('draft') THEN starts_on - 5 + pg_temp.pick(e, 21, 5)::int END,
                        CASE WHEN status IN ('in_progress','measuring','closed') THEN starts_on + pg_temp.pick(e, 22, 10)::int END,
                        CASE WHEN status IN ('measuring','closed') THEN starts_on + 20 + pg_temp.pick(e, 23, 40)::int END,
                        CASE WHEN status IN ('measuring','closed') THEN starts_on + 20 + pg_temp.pick(e, 23, 40)::int END,
                        CASE WHEN status = 'closed' THEN least({today} - 1 - pg_temp.pick(e, 26, 30)::int,
                                                              starts_on + 90 + pg_temp.pick(e, 24, 60)::int) END,
                        CASE WHEN status = 'cancelled' THEN starts_on + pg_temp.pick(e, 25, 30)::int END
                   FROM x"
            ),
        },
        Step {
            what: "anticipated outcomes",
            // Nine epics in ten state two outcomes (a behaviour and the business result it
            // leads to); every initiative two. Closed epics closed every loop; measured
            // ones some, each loop due two months after delivery.
            sql: format!(
                "WITH o AS (
                     SELECT 'epic' AS parent, e.id AS parent_id, e.owner_id, e.status, e.status AS work_status, e.team_id,
                            coalesce(e.delivered_at::date, (SELECT ends_on FROM periods WHERE id = e.period_id)) + 60 AS measure_by,
                            e.ready_at, e.closed_at, k, ('x' || substr(e.id::text, 1, 8))::bit(32)::int::bigint * 2 + k AS n
                       FROM epics e CROSS JOIN generate_series(1, 2) k
                      WHERE pg_temp.pick(hashtext(e.id::text), 9, 10) <> 0
                     UNION ALL
                     SELECT 'initiative', i.id, i.owner_id,
                            CASE i.status WHEN 'done' THEN 'measuring' WHEN 'active' THEN 'in_progress' ELSE i.status END, i.status,
                            i.org_unit_id, i.created_at::date + 240, i.created_at, NULL, k,
                            ('x' || substr(i.id::text, 1, 8))::bit(32)::int::bigint * 2 + k
                       FROM initiatives i CROSS JOIN generate_series(1, 2) k),
                 v AS (
                     SELECT o.*, 20 + pg_temp.pick(n, 30, 40) AS baseline, 5 + pg_temp.pick(n, 31, 20) AS gain,
                            (o.status = 'closed' OR (o.status = 'measuring' AND o.measure_by < {today} AND pg_temp.r(n, 32) < 0.5))
                                AS closed
                       FROM o)
                 INSERT INTO outcomes (id, epic_id, initiative_id, owner_id, kind, statement, metric, unit, direction,
                                       baseline, target, measure_by, data_source, committed_at, created_at,
                                       realised_value, verdict, proposed_verdict, learnings, next_step, closed_at, closed_on, closed_by,
                                       unit_id, work_status)
                 SELECT md5('outcome:' || parent_id || ':' || k)::uuid,
                        CASE WHEN parent = 'epic' THEN parent_id END, CASE WHEN parent = 'initiative' THEN parent_id END,
                        owner_id, CASE k WHEN 1 THEN 'behaviour' ELSE 'business_result' END,
                        CASE k WHEN 1 THEN 'More learners finish what they start' ELSE 'Course completion drives renewals' END,
                        (ARRAY['Completion rate','Activation rate','Search success rate','Checkout conversion','Renewal rate',
                               'Weekly active learners'])[1 + pg_temp.pick(n, 33, 6)],
                        'percent', 'increase', baseline, baseline + gain, measure_by, 'Product analytics',
                        CASE WHEN status NOT IN ('draft', 'cancelled', 'proposed') THEN coalesce(ready_at, measure_by - 200) END,
                        coalesce(ready_at, measure_by - 200) - interval '3 days',
                        CASE WHEN closed THEN baseline + gain * (0.2 + pg_temp.r(n, 34)) END,
                        CASE WHEN closed THEN (ARRAY['achieved','achieved','partially_achieved','not_achieved','inconclusive'])[1 + pg_temp.pick(n, 35, 5)] END,
                        CASE WHEN closed THEN (ARRAY['achieved','achieved','partially_achieved','not_achieved','inconclusive'])[1 + pg_temp.pick(n, 35, 5)] END,
                        CASE WHEN closed THEN (ARRAY['Learners who saw the checklist came back the next day; the email did little.',
                               'Search success rose once synonyms were added; ranking changes alone did nothing.',
                               'Checkout conversion moved only on mobile; desktop was already fine.',
                               'Completion rose for short courses and fell for long ones: split the long ones.',
                               'The metric moved, but seasonality explains most of it; run a holdout next time.'])[1 + pg_temp.pick(n, 36, 5)]
                             ELSE '' END,
                        CASE WHEN closed THEN (ARRAY['iterate','pivot','stop','scale'])[1 + pg_temp.pick(n, 37, 4)] END,
                        CASE WHEN closed THEN least(coalesce(closed_at, measure_by::timestamptz),
                                                    {today} - 1 - pg_temp.pick(n, 38, 30)::int) END,
                        CASE WHEN closed THEN least(coalesce(closed_at, measure_by::timestamptz),
                                                    {today} - 1 - pg_temp.pick(n, 38, 30)::int)::date END,
                        CASE WHEN closed THEN owner_id END,
                        team_id, work_status
                   FROM v"
            ),
        },
        Step {
            // What the learning log searches (migrations/0034; its trigger is off here).
            what: "learning log's search text",
            sql: "UPDATE outcomes o
                     SET search = learning_search(o.statement, o.metric, o.learnings,
                                                  work_title(o.epic_id, o.initiative_id))
                   WHERE o.closed_at IS NOT NULL"
                .to_string(),
        },
        Step {
            what: "measurements",
            sql: format!(
                "INSERT INTO measurements (id, outcome_id, value, measured_on, source, recorded_by, created_at)
                 SELECT md5('measurement:' || o.id || ':' || k)::uuid, o.id,
                        o.baseline + (o.target - o.baseline) * k / 6.0 * (0.4 + pg_temp.r(k, hashtext(o.id::text))),
                        least({today}, e.delivered_at::date + 10 * k), 'Product analytics', o.owner_id,
                        least({today}, e.delivered_at::date + 10 * k)
                   FROM outcomes o JOIN epics e ON e.id = o.epic_id
                  CROSS JOIN generate_series(1, 7) k
                  WHERE e.status IN ('measuring', 'closed') AND (k <= 6 OR (hashtext(o.id::text) & 3) = 0)"
            ),
        },
        Step {
            what: "objectives planned",
            // Each quarter: the company's 5, each division's 5 (each cascaded from one of the
            // company's key results), each team's few (cascaded from its division's).
            sql: format!(
                "CREATE TEMP TABLE gen_objectives ON COMMIT DROP AS
                 WITH o AS (
                     SELECT q, 'c' AS level, 0 AS unit, j, NULL::uuid AS parent FROM generate_series(0, {QUARTERS} - 1) q,
                            generate_series(0, 4) j
                     UNION ALL
                     SELECT q, 'd', 1 + d, j, md5('kr:c:' || q || ':0:' || ((d + j) % 5) || ':' || (d % 3))::uuid
                       FROM generate_series(0, {QUARTERS} - 1) q, generate_series(0, {divisions} - 1) d, generate_series(0, 4) j
                     UNION ALL
                     SELECT q, 't', 1000 + t, j, md5('kr:d:' || q || ':' || (1 + t % {divisions}) || ':' || (j % 5) || ':' || (t % 3))::uuid
                       FROM generate_series(0, {QUARTERS} - 1) q, generate_series(0, {teams} - 1) t,
                            generate_series(0, {} - 1) j)
                 SELECT md5('objective:' || level || ':' || q || ':' || unit || ':' || j)::uuid AS id,
                        pg_temp.uid('unit', unit) AS org_unit_id, pg_temp.uid('period', q) AS period_id,
                        pg_temp.uid('person', CASE level WHEN 'c' THEN 2 * {teams} + {divisions}
                                                         WHEN 'd' THEN 2 * {teams} + unit - 1 ELSE unit - 1000 END) AS owner_id,
                        parent,
                        (ARRAY['Learners finish what they start','Become the easiest place to pay','Find the right course fast',
                               'Run a platform nobody notices','Grow enterprise accounts'])[1 + j % 5] || ' (' || level || unit || ')' AS title,
                        CASE WHEN q <= {CURRENT} THEN 'active' ELSE 'draft' END AS status,
                        (SELECT starts_on FROM periods WHERE id = pg_temp.uid('period', q)) - 10 AS created_at
                   FROM o",
                s.team_objectives
            ),
        },
        Step {
            what: "objectives",
            sql: "INSERT INTO objectives (id, org_unit_id, period_id, owner_id, title, status, created_at)
                  SELECT id, org_unit_id, period_id, owner_id, title, status, created_at FROM gen_objectives"
                .to_string(),
        },
        Step {
            what: "key results",
            // Three per objective, a fourth for every fourth; the company's and divisions'
            // roll up from the objectives cascaded from them, the teams' follow check-ins.
            sql: format!(
                "WITH o AS (
                     SELECT q, 'c' AS level, 0 AS unit, j FROM generate_series(0, {QUARTERS} - 1) q, generate_series(0, 4) j
                     UNION ALL
                     SELECT q, 'd', 1 + d, j FROM generate_series(0, {QUARTERS} - 1) q,
                            generate_series(0, {divisions} - 1) d, generate_series(0, 4) j
                     UNION ALL
                     SELECT q, 't', 1000 + t, j FROM generate_series(0, {QUARTERS} - 1) q,
                            generate_series(0, {teams} - 1) t, generate_series(0, {} - 1) j),
                 k AS (
                     SELECT o.*, n, hashint8extended(q * 100000000 + unit * 100 + j * 10 + n, 40) & 2147483647 AS h
                       FROM o CROSS JOIN generate_series(0, 3) n
                      WHERE n < 3 OR (unit + j) % 4 <> 3)
                 INSERT INTO key_results (id, objective_id, owner_id, title, metric, unit, direction, start_value, target,
                                          progress_source, position, created_at)
                 SELECT md5('kr:' || level || ':' || q || ':' || unit || ':' || j || ':' || n)::uuid,
                        md5('objective:' || level || ':' || q || ':' || unit || ':' || j)::uuid,
                        pg_temp.uid('person', CASE level WHEN 'c' THEN 2 * {teams} + {divisions}
                                                         WHEN 'd' THEN 2 * {teams} + unit - 1 ELSE unit - 1000 END),
                        (ARRAY['Completion to ','Activation to ','Search success to ','Conversion to '])[1 + n] || (60 + h % 30) || '%',
                        (ARRAY['Completion rate','Activation rate','Search success rate','Checkout conversion'])[1 + n],
                        'percent', 'increase', 40 + h % 15, 60 + h % 30,
                        CASE WHEN level = 't' OR n = 3 THEN 'check_ins' ELSE 'roll_up' END, n,
                        (SELECT starts_on FROM periods WHERE id = pg_temp.uid('period', q)) - 10
                   FROM k",
                s.team_objectives
            ),
        },
        Step {
            what: "cascade",
            // With the parent objective, which a trigger keeps outside the generator.
            sql: "UPDATE objectives o SET parent_key_result_id = g.parent, parent_objective_id = k.objective_id
                    FROM gen_objectives g JOIN key_results k ON k.id = g.parent
                   WHERE g.id = o.id"
                .to_string(),
        },
        Step {
            what: "check-ins",
            // Key results of finished and current quarters that follow check-ins: every
            // four days.
            sql: format!(
                "INSERT INTO check_ins (id, key_result_id, value, confidence, note, author_id, checked_on, created_at)
                 SELECT md5('check-in:' || k.id || ':' || w)::uuid, k.id,
                        k.start_value + (k.target - k.start_value) * w / 22.0 * (0.5 + pg_temp.r(w, hashtext(k.id::text))),
                        (3 + pg_temp.pick(w, hashtext(k.id::text), 8))::smallint, '', k.owner_id,
                        p.starts_on + 4 * w, p.starts_on + 4 * w
                   FROM key_results k JOIN objectives o ON o.id = k.objective_id JOIN periods p ON p.id = o.period_id
                  CROSS JOIN generate_series(1, 22) w
                  WHERE k.progress_source = 'check_ins' AND p.starts_on + 4 * w <= least(p.ends_on, {today})"
            ),
        },
        Step {
            what: "key results' latest check-ins",
            // The last check-in of each, by the same formula as the check-ins themselves.
            sql: format!(
                "UPDATE key_results k
                    SET current_value = k.start_value + (k.target - k.start_value) * x.w / 22.0
                                        * (0.5 + pg_temp.r(x.w, hashtext(k.id::text))),
                        confidence = (3 + pg_temp.pick(x.w, hashtext(k.id::text), 8))::smallint,
                        last_check_in_on = x.starts_on + 4 * x.w
                   FROM (SELECT o.id, p.starts_on, least(22, (least(p.ends_on, {today}) - p.starts_on) / 4) AS w
                           FROM objectives o JOIN periods p ON p.id = o.period_id) x
                  WHERE x.id = k.objective_id AND k.progress_source = 'check_ins' AND x.w >= 1"
            ),
        },
        Step {
            what: "team key results to align to",
            // The first key result of each team's quarter.
            sql: "CREATE TEMP TABLE gen_team_key_results ON COMMIT DROP AS
                  SELECT DISTINCT ON (ob.org_unit_id, ob.period_id) ob.org_unit_id, ob.period_id, k.id
                    FROM objectives ob JOIN key_results k ON k.objective_id = ob.id
                   ORDER BY ob.org_unit_id, ob.period_id, k.id"
                .to_string(),
        },
        Step {
            what: "alignment links",
            // Half the outcomes of epics contribute to a key result of their team's quarter.
            sql: "INSERT INTO outcome_key_results (outcome_id, key_result_id, created_by)
                  SELECT o.id, k.id, o.owner_id
                    FROM outcomes o JOIN epics e ON e.id = o.epic_id
                    JOIN gen_team_key_results k ON k.org_unit_id = e.team_id AND k.period_id = e.period_id
                   WHERE (hashtext(o.id::text) & 1) = 0"
                .to_string(),
        },
        Step {
            what: "audit log",
            sql: format!(
                "INSERT INTO audit_log (at, actor_id, action, entity_type, entity_id, after, client_addr)
                 SELECT e.created_at, e.owner_id, 'epic_created', 'epic', e.id,
                        jsonb_build_object('title', e.title, 'team_id', e.team_id, 'work_type', e.work_type), 'generated'
                   FROM epics e
                 UNION ALL
                 SELECT o.closed_at, o.closed_by, 'loop_closed', 'outcome', o.id,
                        jsonb_build_object('verdict', o.verdict, 'next_step', o.next_step), 'generated'
                   FROM outcomes o WHERE o.closed_at IS NOT NULL AND o.closed_at < {today}"
            ),
        },
        Step {
            what: "dashboard marks",
            sql: "INSERT INTO dashboard_marks (unit_id, period_id)
                  SELECT DISTINCT team_id, period_id FROM epics WHERE period_id IS NOT NULL;
                  INSERT INTO dashboard_marks (unit_id, day)
                  SELECT DISTINCT coalesce(e.team_id, i.org_unit_id), d.day
                    FROM outcomes o LEFT JOIN epics e ON e.id = o.epic_id LEFT JOIN initiatives i ON i.id = o.initiative_id
                   CROSS JOIN LATERAL (VALUES (o.measure_by), (o.closed_on)) d (day)
                   WHERE d.day IS NOT NULL;
                  INSERT INTO dashboard_marks (objective_id) SELECT id FROM objectives"
                .to_string(),
        },
    ]
}

/// The eight quarters: five before today's, today's, two after.
fn quarters(today: NaiveDate) -> Vec<(NaiveDate, NaiveDate, String)> {
    let (start, _, _) = quarter_of(today);
    (0..QUARTERS)
        .map(|q| {
            let offset = (q - CURRENT) * 3;
            let day = if offset < 0 {
                start - Months::new((-offset) as u32)
            } else {
                start + Months::new(offset as u32)
            };
            quarter_of(day)
        })
        .collect()
}

/// Generates the organisation into an empty database, printing each step as it goes.
pub async fn generate(db: &PgPool, scale: Scale, today: NaiveDate) -> anyhow::Result<()> {
    let started = Instant::now();
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM org_units")
        .fetch_one(db)
        .await?;
    if held > 0 {
        anyhow::bail!(
            "the database already holds an organisation ({held} units): generate into an empty one \
             (a new --data-dir, or a new database at DATABASE_URL)"
        );
    }
    let sizes = scale.sizes();
    // Its own connection, without slow-statement warnings: every statement here is slow.
    let options = (*db.connect_options()).clone().disable_statement_logging();
    let quiet = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let mut conn = quiet.acquire().await?;
    for function in FUNCTIONS {
        sqlx::query(function).execute(&mut *conn).await?;
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    for table in MARKED {
        sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER USER"))
            .execute(&mut *tx)
            .await?;
    }
    for (table, trigger) in MARKING {
        sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut *tx)
        .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexname::text, i.indexdef FROM pg_indexes i
          WHERE i.schemaname = current_schema() AND i.tablename = ANY($1)
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                             WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)",
    )
    .bind(REINDEXED)
    .fetch_all(&mut *tx)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX \"{name}\""))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO organisation (id, name) VALUES (true, 'Acme Learning')
         ON CONFLICT (id) DO UPDATE SET name = excluded.name",
    )
    .execute(&mut *tx)
    .await?;
    for (q, (starts_on, ends_on, name)) in quarters(today).into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES (md5('period:' || $1)::uuid, $2, 'quarter', $3, $4)",
        )
        .bind(q as i64)
        .bind(name)
        .bind(starts_on)
        .bind(ends_on)
        .execute(&mut *tx)
        .await?;
    }
    for step in steps(sizes, today) {
        let at = Instant::now();
        let rows = sqlx::raw_sql(&step.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| anyhow::anyhow!("generating {}: {e}", step.what))?
            .rows_affected();
        println!(
            "  {:<30} {:>10} rows  {:>6.1} s",
            step.what,
            rows,
            at.elapsed().as_secs_f64()
        );
    }
    let at = Instant::now();
    for (_, definition) in &indexes {
        sqlx::query(definition).execute(&mut *tx).await?;
    }
    println!(
        "  {:<30} {:>10}       {:>6.1} s",
        format!("{} indexes built", indexes.len()),
        "",
        at.elapsed().as_secs_f64()
    );
    for table in MARKED {
        sqlx::query(&format!("ALTER TABLE {table} ENABLE TRIGGER USER"))
            .execute(&mut *tx)
            .await?;
    }
    for (table, trigger) in MARKING {
        sqlx::query(&format!("ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    drop(conn);
    let at = Instant::now();
    crate::dashboard::rollup::refresh(&crate::db::Db::new(quiet.clone())).await?;
    println!(
        "  {:<30} {:>10}       {:>6.1} s",
        "dashboard rollups",
        "",
        at.elapsed().as_secs_f64()
    );
    let at = Instant::now();
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(&quiet).await?;
    quiet.close().await;
    println!(
        "  {:<30} {:>10}       {:>6.1} s",
        "vacuum and analyze",
        "",
        at.elapsed().as_secs_f64()
    );
    println!(
        "Generated the {scale:?} organisation in {:.0} s.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
