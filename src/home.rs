//! `GET /`: what Yardstick is, where the organisation stands, and where to go next.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use crate::auth::policy::Me;
use crate::http::page::{Flash, Layout, Section};
use crate::http::{AppState, Result};
use crate::org::Organisation;
use crate::periods::{Period, current_period};

#[derive(Debug, sqlx::FromRow)]
pub struct Counts {
    pub units: i64,
    pub people: i64,
    pub periods: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    layout: Layout,
    org: Organisation,
    counts: Counts,
    current: Option<Period>,
}

/// `GET /`
pub async fn get_home(State(state): State<AppState>, me: Me, flash: Flash) -> Result<HomePage> {
    let org = Organisation::load(&state.db).await?;
    let today = state.clock.today(org.zone());
    let counts: Counts = sqlx::query_as(
        "SELECT (SELECT count(*) FROM org_units WHERE archived_at IS NULL) AS units,
                (SELECT count(*) FROM people WHERE active) AS people,
                (SELECT count(*) FROM periods) AS periods",
    )
    .fetch_one(&state.db)
    .await?;
    let current = current_period(&state.db, today).await?;
    let layout = Layout::new("Home", Section::Home, &me).with_flash(flash);
    Ok(HomePage {
        layout,
        org,
        counts,
        current,
    })
}
