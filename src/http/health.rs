//! Health checks for load balancers and orchestrators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::http::AppState;

/// `GET /healthz`: the process is alive (asks nothing of the database).
pub async fn get_healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers and is fully migrated; 503 otherwise.
pub async fn get_readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let readiness = crate::db::readiness(&state.db).await;
    let ready = readiness.database && readiness.migrated;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": if readiness.database { "ok" } else { "unreachable" },
        "migrated": readiness.migrated,
        "schema_version": readiness.schema_version,
    });
    (status, Json(body))
}
