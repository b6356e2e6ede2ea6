//! `GET /livez` (the process answers), `GET /health` (dependency state) and `GET /metrics`
//! (Prometheus text).

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use coin_shared::health::{HealthReport, Liveness};

use crate::state::AppState;

/// 200 whenever the process answers, whatever Postgres and Redis do: Kubernetes' liveness
/// probe, so an outage of a dependency does not restart every pod.
#[utoipa::path(
    get,
    path = "/livez",
    operation_id = "livez",
    tag = "operations",
    responses(
        (status = 200, description = "The process is up and serving.", body = Liveness),
    )
)]
pub async fn livez() -> Json<Liveness> {
    Json(coin_shared::health::liveness("coin-api"))
}

/// 200 with the dependency report when Postgres and Redis answer, 503 with it otherwise.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "operations",
    responses(
        (status = 200, description = "Postgres and Redis answer.", body = HealthReport),
        (status = 503, description = "Postgres or Redis does not answer (`status` is \
            `degraded`).", body = HealthReport),
    )
)]
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
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4.", body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    for (queue, stats) in state.queue.push_stats() {
        metrics::counter!("coin_enqueue_script_calls_total", "queue" => queue)
            .absolute(stats.calls);
        metrics::counter!("coin_enqueue_coalesced_jobs_total", "queue" => queue)
            .absolute(stats.jobs);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
