//! The Observability Node: a read-only JSON view of the system for operators, in the response
//! shapes of the original People's Coin README. GET only; no secrets and no personal data.

mod audit;
mod decisions;
mod governance;
mod health;
mod limit;
mod system_state;

use std::time::Instant;

use axum::{
    Json, Router,
    extract::Request,
    http::{Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use coin_shared::queue::JobQueue;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use sqlx::PgPool;

use crate::control_loop::SharedObserved;

/// What the handlers read.
#[derive(Clone)]
pub struct NodeState {
    /// Postgres, read only here.
    pub pool: PgPool,
    /// The queues, for the health check.
    pub queue: JobQueue,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Process start, for uptime.
    pub started: Instant,
    /// The loop's last snapshot and decision.
    pub observed: SharedObserved,
}

/// `/livez`, `/health`, `/metrics` and the `/api/...` routes, GET only.
pub fn router(state: NodeState) -> Router {
    let started = state.started;
    let ops = coin_shared::ops::Ops {
        service: "coin-controller",
        pool: state.pool.clone(),
        queue: state.queue.clone(),
        metrics: state.metrics.clone(),
        details: Some(std::sync::Arc::new(move |report| {
            health::details(report, started)
        })),
    };
    Router::new()
        .merge(coin_shared::ops::router(ops))
        .route("/api/system_state", get(system_state::system_state))
        .route(
            "/api/controller_decisions",
            get(decisions::controller_decisions),
        )
        .route("/api/governance_state", get(governance::governance_state))
        .route("/api/audit_summary", get(audit::audit_summary))
        .fallback(not_found)
        .layer(middleware::from_fn(read_only))
        .with_state(state)
}

/// Refuses every method but GET and HEAD, on every path.
async fn read_only(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "the Observability Node is read-only: only GET is allowed",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
    response
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}

/// The newest rows of `sql` (which takes the `?limit=` as `$1`), with the limit applied.
async fn latest<T>(
    state: &NodeState,
    query: &std::collections::HashMap<String, String>,
    sql: &'static str,
) -> Result<(i64, Vec<T>), ApiError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let limit = limit::parse(query)?;
    let rows = sqlx::query_as::<_, T>(sql)
        .bind(limit)
        .fetch_all(&state.pool)
        .await
        .map_err(|e| ApiError::database(&e))?;
    Ok((limit, rows))
}

/// A JSON error: `{"error": "...", "status": 400}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error with a message safe to show (never a raw driver error).
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// Postgres failed: logged here, answered as 503 without details.
    pub fn database(error: &sqlx::Error) -> Self {
        tracing::warn!(error = %error, "an Observability Node query failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.message, "status": self.status.as_u16()});
        (self.status, Json(body)).into_response()
    }
}

/// Timestamps as the original node wrote them: `2026-02-14T12:00:00.000000+00:00`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string()
}
