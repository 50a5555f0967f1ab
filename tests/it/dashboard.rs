//! The leader dashboard on a small organisation with known numbers: every figure, by type
//! and by unit, the edge cases of the definitions, the overdue loops, and the lists the
//! figures link to agreeing with them.

use uuid::Uuid;

use crate::common::TestApp;

/// (title, team, type, status, owner, planned period, [(measure-by, verdict, closed on)],
/// serves a key result)
type KnownEpic<'a> = (
    &'a str,
    Uuid,
    &'a str,
    &'a str,
    Uuid,
    Uuid,
    &'a [(&'a str, Option<&'a str>, Option<&'a str>)],
    bool,
);

pub struct Known {
    pub company: Uuid,
    pub division: Uuid,
    pub onboarding: Uuid,
    pub q1: Uuid,
    pub q2: Uuid,
}

/// Learner Experience → Onboarding (A), Assessments (B); Platform (E) outside the scope.
pub async fn known(app: &TestApp) -> Known {
    let company = app.create_unit("Northwind", "company", None).await;
    let division = app
        .create_unit("Learner Experience", "division", Some(company))
        .await;
    let a = app.create_unit("Onboarding", "team", Some(division)).await;
    let b = app.create_unit("Assessments", "team", Some(division)).await;
    let e = app.create_unit("Platform", "division", Some(company)).await;
    let owner = app
        .account("Priya Raman", "priya@northwind.example", "member")
        .await;
    let gone = app
        .account("Sam Porter", "sam@northwind.example", "member")
        .await;
    sqlx::query("UPDATE people SET active = false WHERE id = $1")
        .bind(gone)
        .execute(&app.db)
        .await
        .unwrap();
    let (q1, q2, q3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    sqlx::query(
        "INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES
            ($1, '2026 Q2', 'quarter', '2026-04-01', '2026-06-30'), ($2, '2026 Q3', 'quarter', '2026-07-01', '2026-09-30'),
            ($3, '2026 Q1', 'quarter', '2026-01-01', '2026-03-31')",
    )
    .bind(q2)
    .bind(q3)
    .bind(q1)
    .execute(&app.db)
    .await
    .unwrap();
    let kr = Uuid::new_v4();
    sqlx::query(
        "WITH o AS (INSERT INTO objectives (id, org_unit_id, period_id, title) VALUES (gen_random_uuid(), $2, $3, 'Grow') RETURNING id)
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target,
                                  progress_source, weight, confidence, created_at)
         SELECT $1, o.id, 'Learners', 'Learners', 'count', 'increase', 0, 10, 'roll_up', 3, 8, '2026-04-01' FROM o",
    )
    .bind(kr)
    .bind(division)
    .bind(q2)
    .execute(&app.db)
    .await
    .unwrap();
    // (epic, team, type, status, owner, period, [(measure-by, verdict, closed on)], aligned)
    let epics: &[KnownEpic] = &[
        (
            "A1 welcome flow",
            a,
            "feature",
            "measuring",
            owner,
            q2,
            &[("2026-05-15", Some("achieved"), Some("2026-05-20"))],
            true,
        ),
        (
            "A2 sign-up rewrite",
            a,
            "tech_debt",
            "measuring",
            owner,
            q2,
            &[("2026-05-31", None, None)],
            false,
        ),
        (
            "A3 guided lesson",
            a,
            "feature",
            "draft",
            owner,
            q2,
            &[],
            false,
        ),
        (
            "A4 next quarter",
            a,
            "feature",
            "measuring",
            owner,
            q3,
            &[("2026-05-05", Some("partially_achieved"), Some("2026-05-06"))],
            false,
        ),
        (
            "B1 grading bug",
            b,
            "defect",
            "in_progress",
            gone,
            q2,
            &[("2026-06-30", None, None)],
            false,
        ),
        (
            "B2 dropped",
            b,
            "feature",
            "cancelled",
            owner,
            q2,
            &[("2026-05-01", None, None)],
            false,
        ),
        (
            "B3 exam integrity",
            b,
            "risk",
            "measuring",
            owner,
            q2,
            &[
                ("2026-04-10", Some("inconclusive"), Some("2026-04-20")),
                ("2026-05-10", Some("not_achieved"), Some("2026-05-12")),
            ],
            false,
        ),
        (
            "A0 last quarter",
            a,
            "feature",
            "measuring",
            owner,
            q1,
            &[("2026-03-10", Some("achieved"), Some("2026-03-20"))],
            false,
        ),
        (
            "E1 elsewhere",
            e,
            "feature",
            "measuring",
            owner,
            q2,
            &[("2026-05-01", None, None)],
            false,
        ),
    ];
    for (title, team, work_type, status, owner, period, outcomes, aligned) in epics {
        let epic = Uuid::new_v4();
        sqlx::query("INSERT INTO epics (id, team_id, work_type, title, status, owner_id, period_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(epic)
            .bind(team)
            .bind(work_type)
            .bind(title)
            .bind(status)
            .bind(owner)
            .bind(period)
            .execute(&app.db)
            .await
            .unwrap();
        for (measure_by, verdict, closed_on) in outcomes.iter() {
            let outcome = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO outcomes (id, epic_id, owner_id, kind, statement, metric, unit, direction, baseline, target, measure_by,
                                       verdict, learnings, next_step, closed_at, closed_on)
                 VALUES ($1, $2, $3, 'behaviour', 'Change', $4, 'percent', 'increase', 1, 2, $5::date, $6,
                         CASE WHEN $6 IS NULL THEN '' ELSE 'Learned' END, CASE WHEN $6 IS NULL THEN NULL ELSE 'iterate' END,
                         $7::date::timestamptz, $7::date)",
            )
            .bind(outcome)
            .bind(epic)
            .bind(owner)
            .bind(format!("{title} metric"))
            .bind(measure_by)
            .bind(verdict)
            .bind(closed_on)
            .execute(&app.db)
            .await
            .unwrap();
            if *aligned {
                sqlx::query(
                    "INSERT INTO outcome_key_results (outcome_id, key_result_id) VALUES ($1, $2)",
                )
                .bind(outcome)
                .bind(kr)
                .execute(&app.db)
                .await
                .unwrap();
            }
        }
    }
    // Flow: started → delivered in 10, 20 and 4 days; B3 closed 37 days after delivery.
    // One outcome revised after commitment.
    sqlx::query(
        "UPDATE epics SET started_at = '2026-04-01', delivered_at = '2026-04-01'::timestamptz + make_interval(days => d.days)
           FROM (VALUES ('A1 welcome flow', 10), ('A2 sign-up rewrite', 20), ('B3 exam integrity', 4)) AS d (title, days)
          WHERE epics.title = d.title",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE epics SET status = 'closed', closed_at = '2026-05-12' WHERE title = 'B3 exam integrity'")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO outcome_revisions (outcome_id, revised_at, reason, before, after)
         SELECT o.id, now(), 'Later date', '{}', '{}' FROM outcomes o JOIN epics e ON e.id = o.epic_id
          WHERE e.title = 'A2 sign-up rewrite'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    // OKR health: Grow (the division's) has Learners (weight 3, rolled up from Activate,
    // confidence 8) and Revenue (weight 1, no value, no confidence, never checked in);
    // Activate (Onboarding's, cascaded from Learners) has K1 (weight 1, 40 of 0 → 100,
    // confidence 5, checked in 2 days ago) and K2 (weight 3, 20 of 10 → 20, confidence 2,
    // last checked in a month ago). Activate = (0.4 + 3) ÷ 4 = 85%; Learners = 85%;
    // Grow = 0.85 × 3 ÷ 4 = 63.75%.
    sqlx::query(
        "WITH grow AS (SELECT objective_id AS id FROM key_results WHERE id = $1),
         revenue AS (
             INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target, weight, created_at, position)
             SELECT gen_random_uuid(), id, 'Revenue', 'Revenue', 'count', 'increase', 0, 100, 1, '2026-04-01', 1 FROM grow),
         activate AS (
             INSERT INTO objectives (id, org_unit_id, period_id, title, parent_key_result_id)
             VALUES (gen_random_uuid(), $2, $3, 'Activate', $1) RETURNING id)
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target, weight,
                                  current_value, confidence, last_check_in_on, created_at, position)
         SELECT gen_random_uuid(), a.id, k.title, k.title, 'count', 'increase', k.s, k.t, k.w, k.v, k.c, k.d::date, '2026-04-01', k.p
           FROM activate a, (VALUES ('K1', 0, 100, 1, 40, 5, '2026-05-30', 0), ('K2', 10, 20, 3, 20, 2, '2026-05-01', 1))
                AS k (title, s, t, w, v, c, d, p)",
    )
    .bind(kr)
    .bind(a)
    .bind(q2)
    .execute(&app.db)
    .await
    .unwrap();
    // Value and cost: 10,000 EUR per team-week for the division; A1 anticipated 100,000
    // over 2 weeks and realised 30,000; A2 4 weeks, no value; B3 anticipated 50,000 over 1
    // week and realised 20,000 (on one of its two outcomes).
    sqlx::query(
        "INSERT INTO unit_cost_rates (org_unit_id, rate, currency) VALUES ($1, 10000, 'EUR')",
    )
    .bind(division)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE epics SET value = d.value, value_label = 'EUR', effort_weeks = d.weeks
           FROM (VALUES ('A1 welcome flow', 100000, 2), ('A2 sign-up rewrite', NULL, 4), ('B3 exam integrity', 50000, 1))
                AS d (title, value, weeks)
          WHERE epics.title = d.title",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE outcomes o SET realised_value = d.realised
           FROM epics e, (VALUES ('A1 welcome flow metric', 30000), ('B3 exam integrity metric', 20000)) AS d (metric, realised)
          WHERE e.id = o.epic_id AND o.metric = d.metric AND o.verdict IN ('achieved', 'not_achieved')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    // A1 measured 2.4% two days before closing, and 3% after (not what it was judged on).
    sqlx::query(
        "INSERT INTO measurements (id, outcome_id, value, measured_on, source)
         SELECT gen_random_uuid(), o.id, d.value, d.day::date, 'analytics' FROM outcomes o,
                (VALUES (2.4, '2026-05-18'), (3, '2026-05-25')) AS d (value, day)
          WHERE o.metric = 'A1 welcome flow metric'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    Known {
        company,
        division,
        onboarding: a,
        q1,
        q2,
    }
}

#[tokio::test]
async fn every_figure_matches_the_known_organisation_by_type_and_by_unit() {
    let app = TestApp::new().await;
    let k = known(&app).await;
    // The first read after writes also refreshes the pre-aggregated figures (see the
    // query-count test); this one measures the page alone.
    yardstick::dashboard::rollup::refresh(&app.db)
        .await
        .unwrap();
    let page = app
        .get(&format!("/dashboard?unit={}&period={}", k.division, k.q2))
        .await;
    let text = page.text();
    // Epics of Q2 in the division, cancelled excluded: A1, A2, A3, B1, B3. Covered (active
    // owner and an outcome): A1, A2, B3. Aligned: A1. Loops due from 1 Apr to today (1 Jun):
    // A1, A2, A4 (planned in Q3, due in Q2), B3 ×2 — 4 closed. Closed in Q2: achieved,
    // partially, not achieved, inconclusive: realisation 1 ÷ 3.
    assert!(
        text.contains("Total 5 60% (3) · without outcome : Total 20% (1) · not aligned : Total 5 80% (4 closed) 4 33% (1 achieved) 1 1 1"),
        "{text}"
    );
    assert!(
        text.contains("Feature 2 50% (1) · without outcome : Feature 50% (1) · not aligned : Feature 2 100% (2 closed) 2 50% (1 achieved) 1 0 0"),
        "{text}"
    );
    assert!(
        text.contains(
            "Defect 1 0% (0) · without outcome : Defect 0% (0) · not aligned : Defect 0 — 0 — 0 0 0"
        ),
        "{text}"
    );
    assert!(
        text.contains("Risk 1 100% (1) · without outcome : Risk 0% (0) · not aligned : Risk 2 100% (2 closed) 2 0% (0 achieved) 0 1 1"),
        "{text}"
    );
    assert!(
        text.contains("Onboarding 3 67% (2) · without outcome : Onboarding 33% (1) · not aligned : Onboarding 3 67% (2 closed) 2 50% (1 achieved) 1 0 0"),
        "{text}"
    );
    assert!(
        text.contains("Assessments 2 50% (1) · without outcome : Assessments 0% (0) · not aligned : Assessments 2 100% (2 closed) 2 0% (0 achieved) 0 1 1"),
        "{text}"
    );
    assert!(
        !text.contains("E1 elsewhere"),
        "another division's work is out of scope"
    );
    // The overdue loop, with its owner and days.
    assert!(text.contains("Overdue loops, longest overdue first Outcome Work Unit Owner Overdue A2 sign-up rewrite metric A2 sign-up rewrite Onboarding Priya Raman 1 day overdue"), "{text}");

    // Cycle time over 4, 10, 20 days: median 10, 85th percentile 17 (interpolated);
    // time to realisation 37 days (B3 only); 1 of the 5 outcomes revised.
    assert!(text.contains("Total 10 / 17 37 / 37 1 of 5"), "{text}");
    assert!(text.contains("Assessments 4 / 4 37 / 37 0 of 3"), "{text}");

    // The lists behind the figures agree with them.
    let epics_link = page.link("5").expect("the total's epics link");
    let listed = app.get(&epics_link).await.text();
    for title in [
        "A1 welcome flow",
        "A2 sign-up rewrite",
        "A3 guided lesson",
        "B1 grading bug",
        "B3 exam integrity",
    ] {
        assert!(listed.contains(title), "{title} in {epics_link}: {listed}");
    }
    for title in ["B2 dropped", "A4 next quarter", "E1 elsewhere"] {
        assert!(!listed.contains(title), "{title} not in {epics_link}");
    }
    let closed_link = page.link("4").expect("the total's closed loops link");
    let learnings = app.get(&closed_link).await.text();
    assert_eq!(
        learnings.matches("Learned").count(),
        4,
        "{closed_link}: {learnings}"
    );
    // A handful of statements, whatever the size (see the query-count test).
    assert!(page.statements() <= 22, "{} statements", page.statements());
}

fn dashboard(k: &Known, extra: &str) -> String {
    format!("/dashboard?unit={}&period={}{extra}", k.division, k.q2)
}

#[tokio::test]
async fn okr_health_rolls_progress_up_the_cascade_and_counts_confidence_and_overdue_check_ins() {
    let app = TestApp::new().await;
    let k = known(&app).await;
    let page = app.get(&dashboard(&k, "")).await;
    let text = page.text();
    // Grow 63.75% (its own unit's row), Activate 85% (Onboarding's), the mean 74.375%.
    assert!(
        text.contains(
            "Learner Experience itself 1 64% 2 50% (1) 0% (0) 0% (0) 50% (1) 1 check-ins overdue"
        ),
        "{text}"
    );
    assert!(
        text.contains("Onboarding 1 85% 2 0% (0) 50% (1) 50% (1) 0% (0) 1 check-ins overdue"),
        "{text}"
    );
    assert!(
        text.contains("Assessments 0 — 0 — (0) — (0) — (0) — (0) 0 check-ins overdue"),
        "{text}"
    );
    assert!(
        text.contains("Total 2 74% 4 25% (1) 25% (1) 25% (1) 25% (1) 2 check-ins overdue"),
        "{text}"
    );
    // The overdue check-ins: Revenue never checked in since 1 Apr, K2 a month ago; K1 was
    // checked in 2 days ago and Learners rolls up (no check-ins expected).
    assert!(text.contains("Check-ins overdue 2"), "{text}");
    assert!(
        text.contains("Revenue Grow Learner Experience No owner 61 days since (every 7)"),
        "{text}"
    );
    assert!(
        text.contains("K2 Activate Onboarding No owner 31 days since (every 7)"),
        "{text}"
    );
    // Onboarding's cell narrows the dashboard to Onboarding, whose list holds only K2.
    let narrowed = page
        .link("1 check-ins overdue: Onboarding")
        .expect("Onboarding's check-ins link");
    let narrowed = app.get(&narrowed).await.text();
    assert!(narrowed.contains("Check-ins overdue 1"), "{narrowed}");
    assert!(
        narrowed.contains("K2 Activate") && !narrowed.contains("Revenue Grow"),
        "{narrowed}"
    );
    // The heatmap shades: off track at 50% is the third shade of red.
    assert!(
        page.body.contains(r#"<td class="heat heat-bad-3">50%"#),
        "{}",
        page.body
    );
    // The objectives figure links to the alignment tree of that unit and period.
    let tree = page
        .from("okrs-title")
        .link("1")
        .expect("Learner Experience's objectives link");
    assert_eq!(tree, format!("/okrs?unit={}&period={}", k.division, k.q2));
}

#[tokio::test]
async fn value_and_roi_count_delivered_work_with_its_cost_at_the_inherited_rate() {
    let app = TestApp::new().await;
    let k = known(&app).await;
    let page = app.get(&dashboard(&k, "")).await;
    let text = page.text();
    // Delivered (measuring or closed) in Q2: A1, A2, B3 — A3 is a draft, B1 in progress.
    assert!(
        text.contains(
            "Feature EUR 1 100,000 (1 valued) 30,000 (1 epics) 20,000 EUR (1 costed) 1.5"
        ),
        "{text}"
    );
    assert!(
        text.contains("Technical debt EUR 1 — (0 valued) — (0 epics) 40,000 EUR (1 costed) —"),
        "{text}"
    );
    assert!(
        text.contains(
            "Onboarding EUR 2 100,000 (1 valued) 30,000 (1 epics) 60,000 EUR (2 costed) 1.5"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "Assessments EUR 1 50,000 (1 valued) 20,000 (1 epics) 10,000 EUR (1 costed) 2"
        ),
        "{text}"
    );
    // ROI over the epics with both: (30,000 + 20,000) ÷ (20,000 + 10,000).
    assert!(
        text.contains("Total EUR 3 150,000 (2 valued) 50,000 (2 epics) 70,000 EUR (3 costed) 1.67"),
        "{text}"
    );
    // The delivered epics link lists exactly those three.
    let link = page
        .from("value-title")
        .link("3")
        .expect("the total's delivered epics link");
    assert!(link.contains("status=shipped"), "{link}");
    let listed = app.get(&link).await.text();
    for title in ["A1 welcome flow", "A2 sign-up rewrite", "B3 exam integrity"] {
        assert!(listed.contains(title), "{title} in {link}");
    }
    for title in [
        "A3 guided lesson",
        "B1 grading bug",
        "A4 next quarter",
        "E1 elsewhere",
    ] {
        assert!(!listed.contains(title), "{title} not in {link}");
    }
}

#[tokio::test]
async fn a_team_with_a_rate_of_its_own_is_costed_at_it_and_the_rest_of_its_division_at_the_divisions()
 {
    let app = TestApp::new().await;
    let k = known(&app).await;
    let company = format!("/dashboard?unit={}&period={}", k.company, k.q2);
    let value_row = |text: &str, unit: &str| {
        let at = text.find("Value and ROI").expect("the value table");
        let rest = &text[at..];
        let from = rest
            .find(&format!("{unit} EUR"))
            .unwrap_or_else(|| panic!("{unit} in {rest}"));
        rest[from..]
            .split(" Learner")
            .next()
            .unwrap()
            .split(" Platform")
            .next()
            .unwrap()
            .trim()
            .to_string()
    };
    // Every team of the division at the division's 10,000 EUR a week.
    let text = app.get(&company).await.text();
    assert!(
        value_row(&text, "Learner Experience")
            .starts_with("Learner Experience EUR 3 150,000 (2 valued) 50,000 (2 epics) 70,000 EUR (3 costed) 1.67"),
        "{text}"
    );

    // Assessments at 20,000 EUR a week of its own: B3's week costs 20,000.
    sqlx::query("INSERT INTO unit_cost_rates (org_unit_id, rate, currency) SELECT id, 20000, 'EUR' FROM org_units WHERE name = 'Assessments'")
        .execute(&app.db)
        .await
        .unwrap();
    let text = app.get(&company).await.text();
    // (30,000 + 20,000) ÷ (20,000 + 20,000).
    assert!(
        value_row(&text, "Learner Experience")
            .starts_with("Learner Experience EUR 3 150,000 (2 valued) 50,000 (2 epics) 80,000 EUR (3 costed) 1.25"),
        "{text}"
    );
    assert!(
        text.contains("Total EUR 3 150,000 (2 valued) 50,000 (2 epics) 80,000 EUR (3 costed) 1.25"),
        "{text}"
    );
    let division = app.get(&dashboard(&k, "")).await.text();
    assert!(
        division.contains(
            "Assessments EUR 1 50,000 (1 valued) 20,000 (1 epics) 20,000 EUR (1 costed) 1"
        ),
        "{division}"
    );
    assert!(
        division.contains(
            "Onboarding EUR 2 100,000 (1 valued) 30,000 (1 epics) 60,000 EUR (2 costed) 1.5"
        ),
        "{division}"
    );
}

#[tokio::test]
async fn closed_outcomes_show_baseline_target_and_the_actual_they_were_judged_on_and_the_trend_compares_quarters()
 {
    let app = TestApp::new().await;
    let k = known(&app).await;
    let page = app.get(&dashboard(&k, "")).await;
    let text = page.text();
    assert!(text.contains("Anticipated vs actual 4"), "{text}");
    // The 3% measured after closing is not the actual.
    assert!(
        text.contains("A1 welcome flow metric · A1 welcome flow 1% 2% 2.4% Achieved 20 May 2026"),
        "{text}"
    );
    assert!(
        text.contains("B3 exam integrity metric · B3 exam integrity 1% 2% — Not achieved"),
        "{text}"
    );
    assert_eq!(page.body.matches(r#"<svg class="bullet""#).count(), 4);
    assert_eq!(
        page.body.matches(r#"class="bullet-actual""#).count(),
        1,
        "a bar only where a value was measured"
    );
    // Realisation per quarter: Q1 1 of 1; Q2 1 of 3 judged (the inconclusive beside it).
    assert!(text.contains("2026 Q1 1 1 0 0 0 100%"), "{text}");
    assert!(text.contains("2026 Q2 4 1 1 1 1 33%"), "{text}");
    assert!(
        page.body
            .contains(r#"role="img" aria-labelledby="trend-chart-title""#)
    );
    let q1 = page
        .link("2026 Q1")
        .expect("the trend links to each quarter's dashboard");
    assert_eq!(
        q1,
        format!("/dashboard?unit={}&period={}", k.division, k.q1)
    );
}

#[tokio::test]
async fn a_range_of_periods_counts_every_period_within_it_and_its_links_list_the_same() {
    let app = TestApp::new().await;
    let k = known(&app).await;
    // Given backwards (Q2 until Q1), read as Q1 to Q2.
    let page = app
        .get(&format!(
            "/dashboard?unit={}&period={}&until={}",
            k.division, k.q2, k.q1
        ))
        .await;
    let text = page.text();
    assert!(
        text.contains("Dashboard · Learner Experience · 2026 Q1 to 2026 Q2"),
        "{text}"
    );
    // A0 (Q1) joins the five of Q2: its loop is due and closed, achieved.
    assert!(
        text.contains("Total 6 67% (4) · without outcome : Total 17% (1) · not aligned : Total 6 83% (5 closed) 5 50% (2 achieved) 1 1 1"),
        "{text}"
    );
    let epics = page.link("6").expect("the total's epics link");
    let listed = app.get(&epics).await.text();
    for title in [
        "A0 last quarter",
        "A1 welcome flow",
        "A2 sign-up rewrite",
        "A3 guided lesson",
        "B1 grading bug",
        "B3 exam integrity",
    ] {
        assert!(listed.contains(title), "{title} in {epics}");
    }
    assert!(!listed.contains("A4 next quarter") && !listed.contains("B2 dropped"));
    let closed = page.link("5").expect("the total's closed loops link");
    assert_eq!(
        app.get(&closed).await.text().matches("Learned").count(),
        5,
        "{closed}"
    );
}

#[tokio::test]
async fn the_team_comparison_sorts_by_any_column_through_links() {
    let app = TestApp::new().await;
    let k = known(&app).await;
    let position = |text: &str, name: &str| {
        let table = &text[text.find("Team comparison").unwrap()..];
        table.find(&format!("{name} ")).unwrap()
    };
    let page = app.get(&dashboard(&k, "")).await;
    let text = page.text();
    assert!(
        position(&text, "Assessments") < position(&text, "Onboarding"),
        "by name first"
    );
    // Epics, most first; the same link again turns the order round.
    let by_epics = page
        .link("Epics: sort")
        .expect("the Epics column's sort link");
    let sorted = app.get(&by_epics).await;
    let text = sorted.text();
    assert!(
        position(&text, "Onboarding") < position(&text, "Assessments"),
        "{text}"
    );
    assert!(
        sorted
            .body
            .contains(r#"aria-sort="descending"><a href="/dashboard?unit="#)
    );
    let back = sorted.link("Epics: sort").unwrap();
    assert!(back.ends_with("sort=epics&dir=asc#unit-title"), "{back}");
    let text = app.get(&back).await.text();
    assert!(
        position(&text, "Assessments") < position(&text, "Onboarding"),
        "{text}"
    );
    // Realisation: Onboarding 50%, Assessments 0%.
    let text = app
        .get(&dashboard(&k, "&sort=realisation&dir=asc"))
        .await
        .text();
    assert!(
        position(&text, "Assessments") < position(&text, "Onboarding"),
        "{text}"
    );
    // The total stays last whatever the order.
    let table = &text
        [text.find("Team comparison").unwrap()..text.find("Outcome coverage: epics with").unwrap()];
    assert!(
        table.trim_end().ends_with("Download CSV : team comparison"),
        "{table}"
    );
    assert!(table.rfind("Total").unwrap() > table.find("Onboarding").unwrap());
}

#[tokio::test]
async fn every_table_downloads_as_csv_with_the_cells_the_page_shows() {
    let app = TestApp::new().await;
    let k = known(&app).await;
    let page = app.get(&dashboard(&k, "")).await;
    let csv = app
        .get(&page.link("Download CSV: team comparison").unwrap())
        .await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("dashboard-unit.csv")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines,
        [
            "Unit,Epics,Outcome coverage,Alignment coverage,Loops due,Loop closure,Closed,Realisation,Partly,Not achieved,Inconclusive",
            "Assessments,2,50% (1),0% (0),2,100% (2 closed),2,0% (0 achieved),0,1,1",
            "Onboarding,3,67% (2),33% (1),3,67% (2 closed),2,50% (1 achieved),1,0,0",
            "Total,5,60% (3),20% (1),5,80% (4 closed),4,33% (1 achieved),1,1,1",
        ]
    );
    let okrs = app
        .get(&page.link("Download CSV: OKR health").unwrap())
        .await
        .body;
    assert!(
        okrs.contains("\nOnboarding,1,85%,2,0% (0),50% (1),50% (1),0% (0),1\n"),
        "{okrs}"
    );
    // Every table: each row's cells appear on the page, in order, in one row.
    let text = page.text();
    let squeeze = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = squeeze(&text);
    for table in yardstick::dashboard::export::TABLES {
        let link = page
            .link_to(&format!("table={table}&"))
            .unwrap_or_else(|| panic!("a CSV link for {table}"));
        let body = app.get(&link).await.body;
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let mut rows = 0;
        for record in reader.records() {
            let record = record.unwrap();
            rows += 1;
            let mut from = 0;
            for cell in record.iter() {
                let cell = squeeze(cell);
                let at = text[from..]
                    .find(&cell)
                    .unwrap_or_else(|| panic!("{table}: {cell:?} after {from} in {text}"));
                from += at + cell.len();
            }
        }
        assert!(rows > 0, "{table} has rows");
    }
    // No such table.
    assert!(
        app.get(&format!(
            "/dashboard/csv?table=nonsense&unit={}",
            k.division
        ))
        .await
        .status
            == 404
    );
}

#[tokio::test]
async fn the_page_lists_the_twenty_longest_overdue_loops_of_all_it_counts_and_the_csv_has_every_one()
 {
    let app = TestApp::new().await;
    let k = known(&app).await;
    // Beside A2's loop (due 31 May, 1 day overdue), 24 more of A2's, due 1 to 24 days
    // earlier: 25 overdue in all.
    sqlx::query(
        "INSERT INTO outcomes
         SELECT (jsonb_populate_record(NULL::outcomes, to_jsonb(o) || jsonb_build_object(
                     'id', gen_random_uuid(), 'metric', 'Older ' || n, 'measure_by', o.measure_by - n))).*
           FROM outcomes o CROSS JOIN generate_series(1, 24) AS n
          WHERE o.metric = 'A2 sign-up rewrite metric'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let page = app.get(&dashboard(&k, "")).await;
    let text = page.text();
    assert!(text.contains("Overdue loops 25"), "{text}");
    assert!(text.contains("The 20 longest overdue of 25."), "{text}");
    // Longest overdue first: 25 days down to 6; the five most recent are left to the queue.
    assert!(
        text.contains("Older 24 A2 sign-up rewrite Onboarding Priya Raman 25 days overdue"),
        "{text}"
    );
    assert!(
        text.contains("Older 5 A2 sign-up rewrite Onboarding Priya Raman 6 days overdue"),
        "{text}"
    );
    assert!(!text.contains("Older 4 "), "{text}");
    assert!(!text.contains("1 day overdue"), "{text}");
    // The queue and the download have them all.
    let queue = app
        .get(&page.link("The overdue loops in the loops queue").unwrap())
        .await;
    assert!(queue.text().contains("Older 1 "), "{}", queue.text());
    let csv = app
        .get(&page.link("Download CSV: overdue loops").unwrap())
        .await
        .body;
    assert_eq!(csv.lines().count(), 1 + 25, "{csv}");
    assert!(
        csv.contains(
            "\nA2 sign-up rewrite metric,A2 sign-up rewrite,Onboarding,Priya Raman,1 day overdue"
        ),
        "{csv}"
    );
}

/// percentile_cont: linear interpolation between the closest ranks.
fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = p * (values.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    values[low] + (values[high] - values[low]) * (rank - low as f64)
}

#[tokio::test]
async fn the_sql_figures_agree_with_the_rust_rules_for_progress_check_ins_loop_state_and_percentiles()
 {
    use chrono::NaiveDate;
    use rust_decimal::Decimal;
    use yardstick::dashboard::figures;
    use yardstick::okrs::cascade::{Roots, load_from};
    use yardstick::outcomes::model::LoopState;
    let app = TestApp::new().await;
    let k = known(&app).await;
    // The figures read what the last refresh pre-aggregated.
    yardstick::dashboard::rollup::refresh(&app.db)
        .await
        .unwrap();
    let (starts, ends) = (
        NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
    );
    for unit in [k.division, k.company, k.onboarding] {
        for today in [NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(), ends] {
            // Progress and check-ins: the cascade's Rust roll-up over the same objectives.
            let cascade = load_from(
                &app.db,
                Roots::Scope {
                    starts_on: starts,
                    ends_on: ends,
                    unit: Some(unit),
                },
            )
            .await
            .unwrap();
            let in_scope: Vec<_> = cascade.objectives.iter().collect();
            let health = figures::okr_health(&app.db, unit, &[k.q2], today)
                .await
                .unwrap();
            let total = health.iter().find(|h| h.child_id.is_none()).unwrap();
            assert_eq!(total.objectives as usize, in_scope.len());
            let rust_mean = in_scope
                .iter()
                .map(|o| cascade.objective_progress(&o.id))
                .sum::<Decimal>()
                / Decimal::from(in_scope.len().max(1));
            assert_eq!(
                total.progress.unwrap_or_default().round_dp(6),
                rust_mean.round_dp(6),
                "progress of {unit}"
            );
            let due = cascade
                .key_results
                .iter()
                .filter(|kr| kr.check_in_due(&today))
                .count();
            assert_eq!(
                total.check_ins_due as usize, due,
                "check-ins due in {unit} on {today}"
            );
            // Loop closure: the loop state rule over every outcome in scope.
            let outcomes: Vec<(String, bool, NaiveDate)> = sqlx::query_as(
                "SELECT coalesce(e.status, i.status), o.closed_at IS NOT NULL, o.measure_by FROM outcomes o
                   LEFT JOIN epics e ON e.id = o.epic_id LEFT JOIN initiatives i ON i.id = o.initiative_id
                  WHERE coalesce(e.team_id, i.org_unit_id) IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)",
            )
            .bind(unit)
            .fetch_all(&app.db)
            .await
            .unwrap();
            let states: Vec<LoopState> = outcomes
                .iter()
                .filter(|(_, _, by)| *by >= starts && *by <= ends.min(today))
                .filter_map(|(status, closed, by)| {
                    yardstick::outcomes::parent::loop_state(status, *closed, *by, today)
                })
                .collect();
            let closure = figures::closure(&app.db, unit, starts, ends, today)
                .await
                .unwrap();
            let total = closure
                .iter()
                .find(|c| c.work_type.is_none() && c.child_id.is_none())
                .unwrap();
            assert_eq!(
                total.due as usize,
                states.len(),
                "loops due in {unit} on {today}"
            );
            assert_eq!(
                total.closed as usize,
                states.iter().filter(|s| **s == LoopState::Closed).count()
            );
        }
        // Cycle-time percentiles (in whole days), recomputed from the epics.
        let days: Vec<f64> = sqlx::query_scalar(
            "SELECT round(extract(epoch FROM delivered_at - started_at) / 86400)::float8 FROM epics
              WHERE period_id = $2 AND status <> 'cancelled' AND delivered_at IS NOT NULL AND started_at IS NOT NULL
                AND team_id IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)",
        )
        .bind(unit)
        .bind(k.q2)
        .fetch_all(&app.db)
        .await
        .unwrap();
        let flow = figures::flow(&app.db, unit, &[k.q2]).await.unwrap();
        let total = flow
            .iter()
            .find(|f| f.kind == "cycle" && f.work_type.is_none() && f.child_id.is_none());
        assert_eq!(total.is_some(), !days.is_empty(), "cycle times in {unit}");
        if let Some(total) = total {
            assert!((total.p50.unwrap() - percentile(days.clone(), 0.5)).abs() < 1e-9);
            assert!((total.p85.unwrap() - percentile(days, 0.85)).abs() < 1e-9);
        }
    }
}

#[tokio::test]
async fn a_loop_due_on_the_last_day_of_the_period_counts_from_that_day_on() {
    let mut app = TestApp::new().await;
    let k = known(&app).await;
    // B1's loop is due 30 Jun, the quarter's last day: not yet due on 29 Jun.
    app.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 6, 29, 10, 0, 0).unwrap());
    app.cookie = app.session_for(app.admin).await;
    let text = app.get(&dashboard(&k, "")).await.text();
    assert!(
        text.contains(
            "Defect 1 0% (0) · without outcome : Defect 0% (0) · not aligned : Defect 0 —"
        ),
        "{text}"
    );
    app.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 6, 30, 10, 0, 0).unwrap());
    app.cookie = app.session_for(app.admin).await;
    let text = app.get(&dashboard(&k, "")).await.text();
    assert!(text.contains("Defect 1 0% (0) · without outcome : Defect 0% (0) · not aligned : Defect 1 0% (0 closed)"), "{text}");
    assert!(text.contains("Total 5 60% (3) · without outcome : Total 20% (1) · not aligned : Total 6 67% (4 closed)"), "{text}");
}

#[tokio::test]
async fn the_dashboard_reads_the_same_few_statements_for_a_team_a_division_or_the_company() {
    let app = TestApp::new().await;
    let k = known(&app).await;
    // Each unit's filter and the periods were read once already (they are kept, see
    // org_units), so the statements counted are the figures'.
    for unit in [k.onboarding, k.division, k.company] {
        app.get(&format!("/epics?unit={unit}")).await;
    }
    // Reading after writes refreshes the pre-aggregated figures: a fixed number of
    // statements too, whatever was changed.
    let first = app.get(&dashboard(&k, "&sort=epics")).await;
    let team = app
        .get(&format!("/dashboard?unit={}&period={}", k.onboarding, k.q2))
        .await;
    let division = app.get(&dashboard(&k, "")).await;
    let company = app
        .get(&format!("/dashboard?unit={}&period={}", k.company, k.q2))
        .await;
    assert!(company.text().contains("E1 elsewhere"));
    assert_eq!(team.statements(), division.statements());
    assert_eq!(division.statements(), company.statements());
    assert!(
        first.statements() > division.statements(),
        "the first read refreshed"
    );
    // Seen again with nothing changed: the figures kept (see the cache test).
    let again = app.get(&dashboard(&k, "")).await;
    assert!(again.statements() < division.statements());
    sqlx::query("UPDATE epics SET status = 'cancelled' WHERE title LIKE 'A%'")
        .execute(&app.db)
        .await
        .unwrap();
    let after_many = app.get(&dashboard(&k, "")).await;
    sqlx::query("UPDATE epics SET status = 'measuring' WHERE title = 'A1 welcome flow'")
        .execute(&app.db)
        .await
        .unwrap();
    let after_one = app.get(&dashboard(&k, "")).await;
    assert_eq!(after_many.statements(), after_one.statements());
    // At most: epic groups, loop days, and objectives with their OKR sums all to refresh,
    // each with their ancestors' sums, and the dashboards' versions moved on.
    assert!(after_one.statements() <= first.statements());
    assert!(first.statements() <= 49, "{}", first.statements());
    let csv = app
        .get(&format!(
            "/dashboard/csv?table=unit&unit={}&period={}",
            k.company, k.q2
        ))
        .await;
    assert_eq!(
        csv.statements() + 1,
        company.statements(),
        "the export reads the page's figures, not the versions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pre_aggregated_figures_stay_exact_while_writers_and_refreshes_run_at_once() {
    use yardstick::dashboard::rollup::refresh;
    let app = TestApp::new().await;
    let k = known(&app).await;
    refresh(&app.db).await.unwrap();
    let statuses = ["draft", "in_progress", "measuring", "cancelled", "closed"];
    let mut tasks = Vec::new();
    for writer in 0..4 {
        let db = app.db.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..25 {
                let status = statuses[(writer + round) % statuses.len()];
                let mut tx = db.begin().await.unwrap();
                // Each writer its own epic; all of them the same outcome.
                sqlx::query("UPDATE epics SET status = $1 WHERE title = $2")
                    .bind(status)
                    .bind(["A1 welcome flow", "A2 sign-up rewrite", "B1 grading bug", "B3 exam integrity"][writer])
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query(
                    "UPDATE outcomes SET measure_by = measure_by + CASE WHEN $1 % 2 = 0 THEN 1 ELSE -1 END
                      WHERE metric = 'A2 sign-up rewrite metric'",
                )
                .bind(round as i32)
                .execute(&mut *tx)
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for _ in 0..2 {
        let db = app.db.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..30 {
                refresh(&db).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    refresh(&app.db).await.unwrap();
    // Each group counts exactly the live epics the table holds.
    let drift: Vec<(String, i64, i64)> = sqlx::query_as(
        "WITH truth AS (SELECT team_id, period_id, work_type, count(*) AS n FROM epics
                         WHERE status <> 'cancelled' AND period_id IS NOT NULL GROUP BY 1, 2, 3),
              rolled AS (SELECT team_id, period_id, work_type, sum(epics)::bigint AS n FROM dashboard_epic_groups GROUP BY 1, 2, 3)
         SELECT coalesce(t.work_type, r.work_type), coalesce(t.n, 0), coalesce(r.n, 0)
           FROM truth t FULL JOIN rolled r USING (team_id, period_id, work_type)
          WHERE t.n IS DISTINCT FROM r.n",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(drift.is_empty(), "epic groups drifted: {drift:?}");
    // And each loop day the live outcomes due and closed on it.
    let drift: Vec<(chrono::NaiveDate, i64, i64)> = sqlx::query_as(
        "WITH truth AS (
             SELECT o.measure_by AS day, count(*) AS n FROM outcomes o JOIN epics e ON e.id = o.epic_id
              WHERE e.status <> 'cancelled' GROUP BY 1),
              rolled AS (SELECT day, sum(due)::bigint AS n FROM dashboard_loop_days WHERE due > 0 GROUP BY 1)
         SELECT coalesce(t.day, r.day), coalesce(t.n, 0), coalesce(r.n, 0)
           FROM truth t FULL JOIN rolled r USING (day) WHERE t.n IS DISTINCT FROM r.n",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(drift.is_empty(), "loop days drifted: {drift:?}");
    assert_eq!(sums_drift(&app).await, Vec::<String>::new());
    let marks: i64 = sqlx::query_scalar("SELECT count(*) FROM dashboard_marks")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(marks, 0, "the last refresh took every mark");
    // The page agrees with the table after all that.
    let text = app.get(&dashboard(&k, "")).await.text();
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM epics e JOIN org_unit_tree t ON t.descendant_id = e.team_id
          WHERE t.ancestor_id = $1 AND e.period_id = $2 AND e.status <> 'cancelled'",
    )
    .bind(k.division)
    .bind(k.q2)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        text.contains(&format!("Total {live} ")),
        "{live} live epics in {text}"
    );
}

#[tokio::test]
async fn okr_sums_follow_objectives_checked_in_moved_to_another_unit_and_deleted() {
    use yardstick::dashboard::rollup::refresh;
    let app = TestApp::new().await;
    let k = known(&app).await;
    // Every unit's and period's OKR sums against its objectives' progress, and the days
    // their key results were last checked in.
    let drift = || async {
        refresh(&app.db).await.unwrap();
        let mut drift: Vec<String> = sqlx::query_scalar(
            "WITH truth AS (
                 SELECT org_unit_id AS unit_id, period_id, count(*) AS objectives, sum(progress) AS progress,
                        sum(key_results) AS key_results, sum(at_risk) AS at_risk
                   FROM objective_progress GROUP BY 1, 2)
             SELECT coalesce(t.unit_id, g.unit_id)::text || ': ' || coalesce(t.objectives, 0) || ' objectives, '
                    || coalesce(t.progress, 0) || ' <> ' || coalesce(g.objectives, 0) || ', ' || coalesce(g.progress, 0)
               FROM truth t FULL JOIN dashboard_okr_groups g USING (unit_id, period_id)
              WHERE (t.objectives, t.progress, t.key_results, t.at_risk)
                    IS DISTINCT FROM (g.objectives, g.progress, g.key_results, g.at_risk)
             UNION ALL
             SELECT 'check-in days of ' || coalesce(t.unit_id, d.unit_id)::text
               FROM (SELECT p.org_unit_id AS unit_id, p.period_id, s.day, count(*) AS n
                       FROM objective_progress p, unnest(p.check_ins_since) AS s (day) GROUP BY 1, 2, 3) t
               FULL JOIN dashboard_check_in_days d USING (unit_id, period_id, day)
              WHERE t.n IS DISTINCT FROM d.key_results",
        )
        .fetch_all(&app.db)
        .await
        .unwrap();
        drift.extend(sums_drift(&app).await);
        drift
    };
    assert_eq!(drift().await, Vec::<String>::new());
    let health = |unit: Uuid| {
        let app = &app;
        let k = &k;
        async move {
            app.get(&format!("/dashboard?unit={unit}&period={}", k.q2))
                .await
                .text()
        }
    };
    let activate = "(SELECT id FROM objectives WHERE title = 'Activate')";
    // A check-in today on K2: it is no longer overdue, and at its target.
    sqlx::query(&format!(
        "UPDATE key_results SET current_value = 20, confidence = 8, last_check_in_on = '2026-06-01'
          WHERE title = 'K2' AND objective_id = {activate}"
    ))
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(drift().await, Vec::<String>::new());
    // Activate moves from Onboarding to the Platform division's, and back to Assessments.
    for unit in ["Platform", "Assessments"] {
        sqlx::query(&format!(
            "UPDATE objectives SET org_unit_id = (SELECT id FROM org_units WHERE name = $1) WHERE id = {activate}"
        ))
        .bind(unit)
        .execute(&app.db)
        .await
        .unwrap();
        assert_eq!(drift().await, Vec::<String>::new(), "moved to {unit}");
    }
    let division = health(k.division).await;
    // K1 at risk, K2 now on track, neither overdue.
    assert!(
        division.contains("Assessments 1 85% 2 50% (1) 50% (1) 0% (0) 0% (0) 0 check-ins overdue"),
        "{division}"
    );
    assert!(
        division.contains("Onboarding 0 — 0 — (0) — (0) — (0) — (0) 0 check-ins overdue"),
        "{division}"
    );
    // Deleted, with its key results: the division's sums lose it.
    sqlx::query(&format!(
        "DELETE FROM key_results WHERE objective_id = {activate}"
    ))
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(&format!("DELETE FROM objectives WHERE id = {activate}"))
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(drift().await, Vec::<String>::new(), "deleted");
    let left: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(objectives), 0)::bigint FROM dashboard_okr_groups_up WHERE unit_id = $1 AND period_id = $2",
    )
    .bind(k.division)
    .bind(k.q2)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(left, 1, "only Grow is left in the division");
}

/// Where a unit's sums (`dashboard_*_up`) differ from its teams' rows added up.
async fn sums_drift(app: &TestApp) -> Vec<String> {
    let mut drift = Vec::new();
    for (table, team, key, groups, measure) in [
        (
            "dashboard_epic_groups",
            "team_id",
            "period_id",
            "work_type, label",
            "epics",
        ),
        (
            "dashboard_epic_groups",
            "team_id",
            "period_id",
            "work_type, label",
            "anticipated",
        ),
        (
            "dashboard_flow",
            "team_id",
            "period_id",
            "work_type, kind, days",
            "epics",
        ),
        ("dashboard_loop_days", "unit_id", "day", "work_type", "due"),
        (
            "dashboard_loop_days",
            "unit_id",
            "day",
            "work_type",
            "achieved",
        ),
        (
            "dashboard_okr_groups",
            "unit_id",
            "period_id",
            "",
            "progress",
        ),
        (
            "dashboard_okr_groups",
            "unit_id",
            "period_id",
            "",
            "off_track",
        ),
        (
            "dashboard_check_in_days",
            "unit_id",
            "period_id",
            "day",
            "key_results",
        ),
    ] {
        // The group columns, each after a comma.
        let groups: String = groups
            .split(", ")
            .filter(|g| !g.is_empty())
            .map(|g| format!(", {g}"))
            .collect();
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "WITH truth AS (
                 SELECT t.ancestor_id AS unit_id, g.{key}{groups}, sum(g.{measure}) AS n
                   FROM {table} g JOIN org_unit_tree t ON t.descendant_id = g.{team}
                  GROUP BY t.ancestor_id, g.{key}{groups})
             SELECT '{table}.{measure} ' || coalesce(t.unit_id, u.unit_id)::text || ': '
                    || coalesce(t.n::text, 'none') || ' <> ' || coalesce(u.{measure}::text, 'none')
               FROM truth t FULL JOIN {table}_up u USING (unit_id, {key}{groups})
              WHERE t.n IS DISTINCT FROM u.{measure}"
        ))
        .fetch_all(&app.db)
        .await
        .unwrap();
        drift.extend(rows);
    }
    drift
}

/// The live epics planned in `period` of `unit` and the units beneath it.
async fn live_epics(app: &TestApp, unit: Uuid, period: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM epics e JOIN org_unit_tree t ON t.descendant_id = e.team_id
          WHERE t.ancestor_id = $1 AND e.period_id = $2 AND e.status <> 'cancelled'",
    )
    .bind(unit)
    .bind(period)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_team_moved_to_another_division_takes_its_figures_with_it() {
    let app = TestApp::new().await;
    let k = known(&app).await;
    let before = live_epics(&app, k.division, k.q2).await;
    let onboarding = live_epics(&app, k.onboarding, k.q2).await;
    assert!(onboarding > 0 && before > onboarding);
    let total = |unit: Uuid| format!("/dashboard?unit={unit}&period={}", k.q2);
    assert!(
        app.get(&total(k.division))
            .await
            .text()
            .contains(&format!("Total {before} "))
    );

    let growth = app.create_unit("Growth", "division", Some(k.company)).await;
    let page = app
        .post(
            &format!("/org/units/{}", k.onboarding),
            &[
                ("name", "Onboarding"),
                ("kind", "team"),
                ("parent_id", &growth.to_string()),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        axum::http::StatusCode::SEE_OTHER,
        "{}",
        page.text()
    );

    let left = app.get(&total(k.division)).await.text();
    // The team's row left the division's comparison and joined the other's.
    assert!(
        left.contains(&format!("Total {} ", before - onboarding))
            && !left.contains(&format!("Onboarding {onboarding} ")),
        "{left}"
    );
    let arrived = app.get(&total(growth)).await.text();
    assert!(
        arrived.contains(&format!("Total {onboarding} "))
            && arrived.contains(&format!("Onboarding {onboarding} ")),
        "{arrived}"
    );
    let company = live_epics(&app, k.company, k.q2).await;
    assert!(
        app.get(&total(k.company))
            .await
            .text()
            .contains(&format!("Total {company} "))
    );
    assert_eq!(sums_drift(&app).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_period_with_nothing_planned_yet_shows_empty_figures_instead_of_failing() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let period = crate::api::q2(&app).await;
    for path in [
        format!("/dashboard?unit={company}&period={period}"),
        format!("/dashboard/csv?unit={company}&period={period}&table=flow"),
    ] {
        let page = app.get(&path).await;
        assert_eq!(
            page.status,
            axum::http::StatusCode::OK,
            "{path}: {}",
            page.body
        );
        assert!(
            page.text().contains("Total 0 — — 0 — 0 — 0 0 0")
                || page.body.contains("Total,— / —,— / —,0 of 0"),
            "{path}: {}",
            page.text()
        );
    }
}

#[tokio::test]
async fn a_dashboard_seen_again_is_read_from_memory_until_something_it_shows_changes() {
    let app = TestApp::new().await;
    let k = known(&app).await;
    let company = format!("/dashboard?unit={}&period={}", k.company, k.q2);
    let first = app.get(&dashboard(&k, "")).await;
    let again = app.get(&dashboard(&k, "")).await;
    assert_eq!(again.text(), first.text());
    // The session, the refresh's check and the versions (the unit filter and the periods
    // are kept too).
    assert_eq!(again.statements(), 3, "{}", again.statements());
    let kept = again.statements();
    let write = |sql: &'static str| {
        let db = app.db.clone();
        async move { sqlx::query(sql).execute(&db).await.unwrap() }
    };

    // Work in another division (written straight to the database, as another server
    // would): the company's figures show it, the division's stay as they were.
    write("UPDATE epics SET title = 'E1 moved on' WHERE title = 'E1 elsewhere'").await;
    let text = app.get(&company).await.text();
    assert!(text.contains("E1 moved on"), "{text}");
    let division = app.get(&dashboard(&k, "")).await;
    assert_eq!(division.statements(), kept);
    assert_eq!(division.text(), first.text());

    // Work beneath the division shows at once.
    write("UPDATE epics SET title = 'A1 welcome journey' WHERE title = 'A1 welcome flow'").await;
    let text = app.get(&dashboard(&k, "")).await.text();
    assert!(
        text.contains("A1 welcome flow metric · A1 welcome journey"),
        "{text}"
    );
    // A measurement on its closed outcome changes no sum, only the actual value shown.
    assert!(text.contains("1% 2% 2.4% Achieved 20 May 2026"), "{text}");
    write(
        "INSERT INTO measurements (id, outcome_id, value, measured_on)
         SELECT gen_random_uuid(), o.id, 2.9, o.closed_on FROM outcomes o
          WHERE o.metric = 'A1 welcome flow metric'",
    )
    .await;
    let text = app.get(&dashboard(&k, "")).await.text();
    assert!(text.contains("1% 2% 2.9% Achieved 20 May 2026"), "{text}");

    // A work's title counts in no sum: an epic with no planned period and an initiative,
    // each with a loop overdue since the quarter began, show their new titles at once when
    // renamed.
    write(
        "INSERT INTO epics (id, team_id, work_type, title)
         SELECT gen_random_uuid(), id, 'feature', 'Unplanned tidy-up' FROM org_units WHERE name = 'Onboarding'",
    )
    .await;
    write(
        "INSERT INTO initiatives (id, org_unit_id, title)
         SELECT gen_random_uuid(), id, 'Bet on mentors' FROM org_units WHERE name = 'Onboarding'",
    )
    .await;
    write(
        "INSERT INTO outcomes (id, epic_id, initiative_id, kind, statement, metric, unit, direction, baseline,
                               target, measure_by)
         SELECT gen_random_uuid(), w.epic, w.initiative, 'behaviour', 'Better', w.metric, 'percent', 'increase',
                1, 2, '2026-04-01'
           FROM (SELECT id AS epic, NULL::uuid AS initiative, 'Tidy metric' AS metric FROM epics
                  WHERE title = 'Unplanned tidy-up'
                 UNION ALL
                 SELECT NULL, id, 'Mentor metric' FROM initiatives WHERE title = 'Bet on mentors') w",
    )
    .await;
    let text = app.get(&dashboard(&k, "")).await.text();
    assert!(
        text.contains("Unplanned tidy-up") && text.contains("Bet on mentors"),
        "{text}"
    );
    write("UPDATE epics SET title = 'Unplanned clean-up' WHERE title = 'Unplanned tidy-up'").await;
    write("UPDATE initiatives SET title = 'Bet on peer mentors' WHERE title = 'Bet on mentors'")
        .await;
    let text = app.get(&dashboard(&k, "")).await.text();
    assert!(
        text.contains("Unplanned clean-up") && text.contains("Bet on peer mentors"),
        "{text}"
    );

    // What no unit's work says: a team's name, a period's, a person's.
    write("UPDATE org_units SET name = 'Activation' WHERE name = 'Onboarding'").await;
    let text = app.get(&dashboard(&k, "")).await.text();
    assert!(text.contains("Activation"), "{text}");
    assert!(!text.contains("Onboarding"), "{text}");
    write("UPDATE periods SET name = '2026 spring' WHERE name = '2026 Q2'").await;
    let text = app.get(&dashboard(&k, "")).await.text();
    assert!(
        text.contains("Dashboard · Learner Experience · 2026 spring"),
        "{text}"
    );
    let text = app.get(&company).await.text();
    assert!(text.contains("E1 moved on Platform Priya Raman"), "{text}");
    write("UPDATE people SET name = 'Priya Raman-Okafor' WHERE name = 'Priya Raman'").await;
    let text = app.get(&company).await.text();
    assert!(
        text.contains("E1 moved on Platform Priya Raman-Okafor"),
        "{text}"
    );
}
