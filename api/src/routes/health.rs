//! `GET /health` (dependency state) and `GET /metrics` (Prometheus text).

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};

use crate::state::AppState;

/// 200 with the dependency report when Postgres and Redis answer, 503 with it otherwise.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let report = coin_shared::health::check("coin-api", &state.read_pool, &state.queue).await;
    let status = if report.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}

/// Prometheus text exposition of this process' metrics.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
