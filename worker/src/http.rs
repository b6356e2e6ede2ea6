//! The worker's small HTTP server: `/livez` (the process answers), `/health` (dependency
//! state) and `/metrics`.

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use coin_shared::queue::JobQueue;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;

/// What the two routes read.
#[derive(Clone)]
pub struct HttpState {
    /// Checked by `/health`.
    pub pool: PgPool,
    /// Checked by `/health`.
    pub queue: JobQueue,
    /// Rendered by `/metrics`.
    pub metrics: PrometheusHandle,
}

/// `/livez`, `/health` and `/metrics`.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route(
            "/livez",
            get(|| async { Json(coin_shared::health::liveness("coin-worker")) }),
        )
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn health(State(state): State<HttpState>) -> impl IntoResponse {
    let report = coin_shared::health::check("coin-worker", &state.pool, &state.queue).await;
    let status = if report.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
