//! `/learnings?unit=&type=&verdict=&period=&until=&q=&after=`: the learning log — every closed
//! outcome with its verdict, what was learned and the next step, newest first; searchable
//! and filterable with the sitemap's names, paged by a keyset cursor. One statement.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::auth::policy::Me;
use crate::epics::model::WorkType;
use crate::http::page::{Flash, Layout, Query, Section};
use crate::http::{AppState, Result};
use crate::loops::model::NextStep;
use crate::outcomes::model::Verdict;
use crate::periods::model::human_date;

/// Learnings on one page, each a few paragraphs (verdict, why, what was learned, the
/// next step): a page of 50 was 34 KB of reading and twice the time; the CSV holds them all.
const PAGE_SIZE: i64 = 25;

#[derive(Debug, sqlx::FromRow)]
pub struct Learning {
    pub id: Uuid,
    pub statement: String,
    pub metric: String,
    pub verdict: String,
    pub verdict_reason: String,
    pub learnings: String,
    pub next_step: String,
    pub realised_value: Option<Decimal>,
    pub closed_on: NaiveDate,
    pub closed_by: Option<String>,
    pub parent_kind: String,
    pub parent_id: Uuid,
    pub parent_title: String,
    pub work_type: Option<String>,
    pub unit_name: String,
}

impl Learning {
    pub fn verdict_label(&self) -> &str {
        Verdict::label_of(&self.verdict)
    }

    pub fn verdict_tag(&self) -> &'static str {
        match self.verdict.as_str() {
            "achieved" => "tag-good",
            "partially_achieved" => "tag-warn",
            "not_achieved" => "tag-bad",
            _ => "tag-muted",
        }
    }

    pub fn next_step_label(&self) -> &str {
        NextStep::label_of(&self.next_step)
    }

    pub fn type_label(&self) -> Option<&str> {
        self.work_type.as_deref().map(WorkType::label_of)
    }

    pub fn day(&self) -> String {
        human_date(self.closed_on)
    }

    pub fn parent_href(&self) -> String {
        crate::http::page::record_href(&self.parent_kind, self.parent_id)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LearningsQuery {
    unit: String,
    #[serde(rename = "type")]
    work_type: String,
    verdict: String,
    period: String,
    /// The last period of a range starting at `period`.
    until: String,
    q: String,
    after: String,
}

impl LearningsQuery {
    /// The filters as a query string (only those set), continuing after `after`.
    fn query_string(&self, after: Option<Uuid>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("unit", &self.unit),
            ("type", &self.work_type),
            ("verdict", &self.verdict),
            ("period", &self.period),
            ("until", &self.until),
            ("q", &self.q),
        ] {
            if !value.trim().is_empty() {
                query.append_pair(key, value.trim());
            }
        }
        if let Some(after) = after {
            query.append_pair("after", &after.to_string());
        }
        query.finish()
    }

    fn next(&self, after: Uuid) -> String {
        format!("/learnings?{}", self.query_string(Some(after)))
    }

    fn csv_href(&self) -> String {
        format!("/learnings/csv?{}", self.query_string(None))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "loops/learnings.html")]
pub struct LearningsPage {
    layout: Layout,
    query: LearningsQuery,
    learnings: Vec<Learning>,
    next: Option<String>,
    units: crate::org::UnitFilter,
    periods: Vec<(String, String)>,
    types: Vec<(String, String)>,
    verdicts: Vec<(String, String)>,
}

/// The closed loops matching the filters, latest closed first, after `after` (keyset), at
/// most `limit`: one statement naming only the filters given, or two when searched (the
/// page's outcomes, then their rows).
///
/// A search reads each closed outcome's lowercased text (its statement, metric, learnings
/// and its work's title; migrations/0034) with `LIKE`, through its trigram index. The
/// statement is planned for each search (never a generic plan, which cannot tell a common
/// word from a rare one): a word found often is read newest first, a rare one through the
/// index (read newest first, a word found nowhere would read every closed outcome: 2.6 s
/// at 140,000). A unit's page is picked team by team, searched there (at 140,000 closed
/// outcomes a team's page read the organisation's latest until 51 of the team's turned up:
/// about 60 ms, searched 130).
async fn find(
    db: &crate::db::Db,
    query: &LearningsQuery,
    limit: i64,
) -> sqlx::Result<Vec<Learning>> {
    let mut sql = QueryBuilder::new("WITH page AS (");
    // Without the separator of the text searched (migrations/0034), so that no word is
    // found across two of its parts.
    let words = query.q.replace('\u{1f}', "");
    let searched = Some(words.trim()).filter(|q| !q.is_empty());
    let pattern = searched.map(crate::people::like_pattern);
    // The outcomes `whose` names, latest closed first, matching the words when searched.
    let matching = pattern
        .as_ref()
        .map(|pattern| ("o.search LIKE lower({})", pattern));
    let everywhere = |sql: &mut QueryBuilder<'_, sqlx::Postgres>, whose: &str| {
        page(sql, query, limit, whose, matching, true)
    };
    match Uuid::parse_str(query.unit.trim()) {
        Err(_) => everywhere(&mut sql, "true"),
        // A unit's page is picked team by team, each team's latest closed in order
        // (outcomes_closed_by_unit_idx), searched there, unless the unit holds a quarter of
        // the organisation's units or more, read as the organisation is.
        Ok(unit) => {
            crate::org::push_teams(&mut sql, unit);
            sql.push("(SELECT k.id, k.closed_on FROM teams t CROSS JOIN LATERAL ");
            page(&mut sql, query, limit, "o.unit_id = t.id", matching, false);
            sql.push(format_args!(
                " k WHERE NOT (SELECT wide FROM wide) ORDER BY k.closed_on DESC, k.id DESC LIMIT {limit})
                 UNION ALL "
            ));
            everywhere(&mut sql, "(SELECT wide FROM wide)");
        }
    }
    if searched.is_none() {
        sql.push(format_args!(
            ") {}",
            rows_of(
                &format!("(SELECT * FROM page ORDER BY closed_on DESC, id DESC LIMIT {limit}) k"),
                "k.closed_on DESC, k.id DESC"
            )
        ));
        return sql.build_query_as().fetch_all(db).await;
    }
    // Searched, the page is picked by a statement planned for the words (an unnamed one),
    // and its rows read by another, planned once: planned with the page, the joins took
    // about a third of the planning, on every search.
    sql.push(format_args!(
        ") SELECT id FROM page ORDER BY closed_on DESC, id DESC LIMIT {limit}"
    ));
    let page: Vec<Uuid> = sql
        .build_query_scalar()
        .persistent(false)
        .fetch_all(db)
        .await?;
    if page.is_empty() {
        return Ok(Vec::new());
    }
    static ROWS: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| rows_of("unnest($1::uuid[]) WITH ORDINALITY k(id, n)", "k.n"));
    sqlx::query_as(&ROWS).bind(page).fetch_all(db).await
}

/// The rows of a page of learnings: `k` its outcomes, in `order`.
fn rows_of(k: &str, order: &str) -> String {
    format!(
        "SELECT o.id, o.statement, o.metric, o.verdict, o.verdict_reason, o.learnings, o.next_step,
                o.realised_value, o.closed_on,
                (SELECT p.name FROM people p WHERE p.id = o.closed_by) AS closed_by,
                CASE WHEN e.id IS NULL THEN 'initiative' ELSE 'epic' END AS parent_kind,
                coalesce(e.id, i.id) AS parent_id, coalesce(e.title, i.title) AS parent_title,
                e.work_type,
                (SELECT u.name FROM org_units u WHERE u.id = coalesce(e.team_id, i.org_unit_id)) AS unit_name
           FROM {k}
           JOIN outcomes o ON o.id = k.id
           LEFT JOIN epics e ON e.id = o.epic_id
           LEFT JOIN initiatives i ON i.id = o.initiative_id
          ORDER BY {order}"
    )
}

/// One page's worth of the closed outcomes `o` that `whose` names, newest
/// first, matching the filters and, in a search, `matching` with each `{}` bound to the
/// pattern. With `unit_test`, the unit filter is a test on each outcome: no plan then reads
/// a unit's outcomes by an index only to sort them all.
fn page(
    sql: &mut QueryBuilder<'_, sqlx::Postgres>,
    query: &LearningsQuery,
    limit: i64,
    whose: &str,
    matching: Option<(&str, &String)>,
    unit_test: bool,
) {
    let id = |text: &str| Uuid::parse_str(text.trim()).ok();
    sql.push(format_args!(
        "(SELECT o.id, o.closed_on FROM outcomes o WHERE o.closed_at IS NOT NULL AND {whose}"
    ));
    if let Some((matching, pattern)) = matching {
        sql.push(" AND ");
        for (at, part) in matching.split("{}").enumerate() {
            if at > 0 {
                sql.push_bind(pattern.clone());
            }
            sql.push(part);
        }
    }
    if let Some(unit) = id(&query.unit).filter(|_| unit_test) {
        crate::org::push_beneath(sql, "o.unit_id", unit);
    }
    if let Ok(work_type) = WorkType::parse(&query.work_type) {
        sql.push(format_args!(
            " AND EXISTS (SELECT 1 FROM epics w WHERE w.id = o.epic_id AND w.work_type = '{}')",
            work_type.as_str()
        ));
    }
    if let Ok(verdict) = Verdict::parse(&query.verdict) {
        sql.push(format_args!(" AND o.verdict = '{}'", verdict.as_str()));
    }
    if let Some(period) = id(&query.period) {
        // From the period's start to the end of `until` (itself when none is given).
        sql.push(" AND o.closed_on BETWEEN (SELECT starts_on FROM periods WHERE id = ")
            .push_bind(period)
            .push(") AND (SELECT ends_on FROM periods WHERE id = ")
            .push_bind(id(&query.until).unwrap_or(period))
            .push(")");
    }
    if let Some(after) = id(&query.after) {
        sql.push(" AND (o.closed_on, o.id) < (SELECT closed_on, id FROM outcomes WHERE id = ")
            .push_bind(after)
            .push(")");
    }
    sql.push(format_args!(
        " ORDER BY o.closed_on DESC, o.id DESC LIMIT {limit})"
    ));
}

/// `GET /learnings/csv?…`: every closed loop the filters match (at most `csv::MAX_ROWS`).
pub async fn get_learnings_csv(
    State(state): State<AppState>,
    Query(mut query): Query<LearningsQuery>,
) -> Result<axum::response::Response> {
    query.after.clear();
    let learnings = find(&state.db, &query, crate::http::csv::MAX_ROWS).await?;
    let head = [
        "Outcome ID",
        "Closed on",
        "Metric",
        "Outcome",
        "Verdict",
        "Why this verdict",
        "Learnings",
        "Next step",
        "Realised value",
        "Work",
        "Type",
        "Unit",
        "Closed by",
    ];
    let rows = learnings.into_iter().map(|l| {
        let labels = [
            l.verdict_label().to_string(),
            l.next_step_label().to_string(),
            l.type_label().unwrap_or_default().to_string(),
        ];
        let [verdict, next_step, kind] = labels;
        vec![
            l.id.to_string(),
            l.closed_on.to_string(),
            l.metric,
            l.statement,
            verdict,
            l.verdict_reason,
            l.learnings,
            next_step,
            l.realised_value
                .map(|v| v.normalize().to_string())
                .unwrap_or_default(),
            l.parent_title,
            kind,
            l.unit_name,
            l.closed_by.unwrap_or_default(),
        ]
    });
    crate::http::csv::download("learnings", &head, rows)
}

/// `GET /learnings`
pub async fn get_learnings(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<LearningsQuery>,
    flash: Flash,
) -> Result<LearningsPage> {
    let mut learnings = find(&state.db, &query, PAGE_SIZE + 1).await?;
    let next =
        crate::http::page::next_page(&mut learnings, PAGE_SIZE, |l| l.id).map(|id| query.next(id));
    let units =
        crate::org::UnitFilter::load(&state, Uuid::parse_str(query.unit.trim()).ok(), &me).await?;
    let periods = crate::periods::options(&state, &me).await?;
    let layout = Layout::new("Learnings", Section::Learnings, &me).with_flash(flash);
    Ok(LearningsPage {
        layout,
        query,
        learnings,
        next,
        units,
        periods,
        types: WorkType::options(),
        verdicts: Verdict::options(),
    })
}
