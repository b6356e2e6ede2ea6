//! What the Observability Node's handlers share: their state, the JSON error, the original
//! node's timestamp format, and the newest-rows read.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use coin_shared::queue::JobQueue;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use sqlx::PgPool;
use std::time::Instant;

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
