//! `GET /`: what Yardstick is, where the organisation stands, and where to go next.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use crate::auth::policy::Me;
use crate::http::page::{Flash, Layout, Section};
use crate::http::{AppState, Result};
use crate::periods::{CURRENT, Period};

/// The organisation's name, its counts and the period under way: one read.
#[derive(sqlx::FromRow)]
struct Overview {
    org_name: String,
    #[sqlx(flatten)]
    counts: Counts,
    #[sqlx(json(nullable))]
    current: Option<Period>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct Counts {
    pub units: i64,
    pub people: i64,
    pub periods: i64,
}

/// A key result I own in a period still under way.
#[derive(Debug, sqlx::FromRow)]
pub struct MyKeyResult {
    pub id: uuid::Uuid,
    pub title: String,
    pub objective_title: String,
    pub period_name: String,
    pub confidence: Option<i16>,
    pub since: chrono::NaiveDate,
    pub check_in_days: i32,
    pub takes_check_ins: bool,
    /// Its period is closed and the owner has not reflected on it yet.
    pub awaiting_reflection: bool,
}

impl MyKeyResult {
    pub fn due(&self, today: &chrono::NaiveDate) -> bool {
        self.takes_check_ins
            && crate::okrs::model::check_in_due(self.since, *today, self.check_in_days)
    }

    pub fn band(&self) -> Option<crate::okrs::model::ConfidenceBand> {
        self.confidence.map(crate::okrs::model::ConfidenceBand::of)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    layout: Layout,
    org_name: String,
    counts: Counts,
    current: Option<Period>,
    key_results: Vec<MyKeyResult>,
    /// My loops that are overdue or due soon.
    loops: Vec<crate::loops::queue::OpenLoop>,
    today: chrono::NaiveDate,
}

/// `GET /`
pub async fn get_home(State(state): State<AppState>, me: Me, flash: Flash) -> Result<HomePage> {
    let today = me.today(&state.clock);
    let Overview {
        org_name,
        counts,
        current,
    } = sqlx::query_as(&format!(
        "SELECT o.name AS org_name, h.units, h.people, (SELECT count(*) FROM periods) AS periods,
                (SELECT to_json(c) FROM ({CURRENT}) c) AS current
           FROM organisation o CROSS JOIN headcounts h"
    ))
    .bind(today)
    .fetch_one(&state.db)
    .await?;
    // Mine, in periods under way, the longest without a check-in first.
    let key_results = sqlx::query_as(
        "SELECT k.id, k.title, o.title AS objective_title, pe.name AS period_name, k.confidence,
                coalesce(k.last_check_in_on, k.created_at::date) AS since, pe.check_in_days,
                k.progress_source = 'check_ins' AS takes_check_ins, pe.closed_at IS NOT NULL AS awaiting_reflection
           FROM key_results k JOIN objectives o ON o.id = k.objective_id JOIN periods pe ON pe.id = o.period_id
          WHERE k.owner_id = $1
            AND ((pe.closed_at IS NULL AND pe.starts_on <= $2 AND pe.ends_on >= $2 AND o.status <> 'closed')
                 OR (pe.closed_at IS NOT NULL AND k.final_score IS NOT NULL AND k.reflection = ''))
          ORDER BY pe.closed_at IS NULL, k.progress_source = 'check_ins' DESC, since, lower(k.title) LIMIT 20",
    )
    .bind(me.id)
    .bind(today)
    .fetch_all(&state.db)
    .await?;
    let loops = crate::loops::queue::open_loops(
        &state.db,
        &me,
        crate::loops::queue::Scope::Me,
        today,
        crate::loops::queue::Wanted {
            urgent_only: true,
            ..Default::default()
        },
        20,
    )
    .await?;
    let layout = Layout::new("Home", Section::Home, &me).with_flash(flash);
    Ok(HomePage {
        layout,
        org_name,
        counts,
        current,
        key_results,
        loops,
        today,
    })
}
