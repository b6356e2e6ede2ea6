//! `GET /health`: liveness, uptime and version, plus the state of Postgres and Redis.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use chrono::Utc;
use serde_json::json;

use super::{NodeState, timestamp};

pub(super) async fn health(State(state): State<NodeState>) -> impl IntoResponse {
    let report = coin_shared::health::check("coin-controller", &state.pool, &state.queue).await;
    let status = if report.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": report.status,
        "service": "Global Observability Node",
        "binary": report.service,
        "version": report.version,
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "postgres": report.postgres,
        "redis": report.redis,
        "timestamp": timestamp(Utc::now()),
    });
    (status, Json(body))
}
