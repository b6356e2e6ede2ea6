//! What every handler can reach.

use std::sync::Arc;

use coin_shared::queue::JobQueue;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;

use crate::{auth::TokenVerifier, idempotency::IdempotencyStore, rate_limit::RateLimiter};

/// Shared application state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Read-only pool: the API never writes to Postgres.
    pub read_pool: PgPool,
    /// The job queues commands are enqueued into.
    pub queue: JobQueue,
    /// Verifies bearer tokens.
    pub verifier: Arc<TokenVerifier>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// First answers of idempotent requests.
    pub idempotency: IdempotencyStore,
    /// Per-caller request budget.
    pub rate_limiter: RateLimiter,
}
