//! The operations routes every binary serves, in one place: `GET /livez` (the process answers:
//! Kubernetes' liveness probe), `GET /health` (Postgres and Redis answer: readiness) and
//! `GET /metrics` (Prometheus text). Each binary merges [`router`] into its own, served on a
//! port bound by [`listen`].

use std::sync::Arc;

use anyhow::Context;
use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::{Map, Value};
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::{
    health::{self, HealthReport, Liveness, Readiness},
    metric_names,
    queue::JobQueue,
};

/// Binds `host:port` for a binary's HTTP server (port 0 picks a free one).
pub async fn listen(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    let address = format!("{host}:{port}");
    TcpListener::bind(&address)
        .await
        .with_context(|| format!("could not listen on {address}"))
}

/// Fields a binary adds to its `/health` body (they replace the report's fields of the same
/// name), computed per request.
pub type HealthDetails = Arc<dyn Fn(&HealthReport) -> Map<String, Value> + Send + Sync>;

/// What the three routes read.
#[derive(Clone)]
pub struct Ops {
    /// The binary's name, e.g. `coin-api`.
    pub service: &'static str,
    /// Checked by `/health`.
    pub pool: PgPool,
    /// Checked by `/health`; its coalesced-push counters are published at each scrape.
    pub queue: JobQueue,
    /// Rendered by `/metrics`.
    pub metrics: PrometheusHandle,
    /// Extra `/health` fields, if the binary has any.
    pub details: Option<HealthDetails>,
    /// Which dependencies `/health` needs up to answer 200 (both are reported either way).
    pub readiness: Readiness,
}

/// `/livez`, `/health` and `/metrics` for one binary.
pub fn router<S>(ops: Ops) -> Router<S> {
    // Every exported series has its help text (promtool checks it); describing twice is harmless.
    metrics::describe_counter!(
        metric_names::ENQUEUE_SCRIPT_CALLS_TOTAL,
        metrics::Unit::Count,
        "Redis script calls that carried coalesced single pushes, by queue."
    );
    metrics::describe_counter!(
        metric_names::ENQUEUE_COALESCED_JOBS_TOTAL,
        metrics::Unit::Count,
        "Jobs pushed through coalesced single pushes, by queue."
    );
    Router::new()
        .route("/livez", get(livez))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

/// 200 whenever the process answers, whatever Postgres and Redis do: Kubernetes' liveness
/// probe, so an outage of a dependency does not restart every pod.
#[utoipa::path(get, path = "/livez", operation_id = "livez", tag = "operations",
    responses((status = 200, description = "The process is up and serving.", body = Liveness)))]
pub async fn livez(State(ops): State<Ops>) -> Json<Liveness> {
    Json(health::liveness(ops.service))
}

/// 200 with the dependency report when the dependencies this binary needs answer (the API:
/// Redis; the worker and the controller: Postgres and Redis), 503 with it otherwise. `status`
/// is `degraded` whenever either is down, ready or not.
#[utoipa::path(get, path = "/health", operation_id = "health", tag = "operations",
    responses((status = 200, description = "The dependencies this binary needs answer (the \
            API needs Redis only; `postgres` may be `down`, `status` then `degraded`).",
            body = HealthReport),
        (status = 503, description = "A dependency this binary needs does not answer \
            (`status` is `degraded`).", body = HealthReport)))]
pub async fn health(State(ops): State<Ops>) -> impl IntoResponse {
    let report = health::check(ops.service, &ops.pool, &ops.queue).await;
    let status = if ops.readiness.is_ready(&report) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = match serde_json::to_value(&report) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    if let Some(details) = &ops.details {
        body.extend(details(&report));
    }
    (status, Json(Value::Object(body)))
}

/// Prometheus text exposition of this process' metrics.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4.",
        body = String, content_type = "text/plain; version=0.0.4; charset=utf-8")))]
pub async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    for (queue, stats) in ops.queue.push_stats() {
        metrics::counter!(metric_names::ENQUEUE_SCRIPT_CALLS_TOTAL, "queue" => queue)
            .absolute(stats.calls);
        metrics::counter!(metric_names::ENQUEUE_COALESCED_JOBS_TOTAL, "queue" => queue)
            .absolute(stats.jobs);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        ops.metrics.render(),
    )
}
