//! Liveness and readiness. `/healthz` says the process answers; `/readyz` checks the database
//! and, when configured, Redis, and answers 503 naming what is down.

use app::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fred::interfaces::ClientLike;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[utoipa::path(tag = "health", get, path = "/healthz", responses((status = 200, description = "The process is up")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(
    tag = "health",
    get,
    path = "/readyz",
    responses((status = 200, description = "Database and Redis answer"), (status = 503, description = "A dependency is down"))
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = match state.db.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database ping failed");
            "unavailable".to_owned()
        }
    };
    let redis = match &state.stores.redis {
        None => "not configured".to_owned(),
        Some(pool) => match pool.next().ping::<String>(None).await {
            Ok(_) => "ok".to_owned(),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: redis ping failed");
                "unavailable".to_owned()
            }
        },
    };
    let ready = database == "ok" && redis != "unavailable";
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({"status": if ready { "ready" } else { "not ready" }, "checks": {"database": database, "redis": redis}})))
}

/// This module's endpoints (liveness and readiness), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}
