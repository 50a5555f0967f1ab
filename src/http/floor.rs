//! `GET /floor`: the benchmark's floor. A signed-in page that goes through every layer and
//! the session lookup like any other, then does one indexed query and renders a tiny
//! template: the most a page can do on this machine. The benchmark reports each page's
//! throughput as a share of this one's.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use crate::auth::policy::Me;
use crate::http::{AppState, Result};

#[derive(Template, WebTemplate)]
#[template(
    source = "<!doctype html><html lang=\"en\"><title>Floor · Yardstick</title><main><p>{{ name }} ({{ units }} units)</p></main></html>",
    ext = "html"
)]
pub struct FloorPage {
    name: String,
    units: i64,
}

/// `GET /floor`
pub async fn get_floor(State(state): State<AppState>, me: Me) -> Result<FloorPage> {
    let units: i64 = sqlx::query_scalar("SELECT count(*) FROM memberships WHERE person_id = $1")
        .bind(me.id)
        .fetch_one(&state.db)
        .await?;
    Ok(FloorPage {
        name: me.name,
        units,
    })
}
