//! What every handler can reach.

use std::{convert::Infallible, ops::Deref, sync::Arc};

use axum::{extract::FromRequestParts, http::request::Parts};
use coin_shared::queue::JobQueue;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;

use coin_shared::identity::Verifier;

use crate::{idempotency::IdempotencyStore, rate_limit::RateLimiter};

/// The services behind every handler.
pub struct Services {
    /// Read-only pool: the API never writes to Postgres.
    pub read_pool: PgPool,
    /// The job queues commands are enqueued into.
    pub queue: JobQueue,
    /// Verifies bearer tokens.
    pub verifier: Arc<Verifier>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// First answers of idempotent requests.
    pub idempotency: IdempotencyStore,
    /// Per-caller request budget.
    pub rate_limiter: RateLimiter,
    /// Whether webhook endpoints may be inside (`WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_allow_private: bool,
}

/// Shared application state. Extractors clone it several times per request, so a clone is
/// one reference count, not a copy of the services (their maps and strings).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    /// The state of one API process.
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The read-only pool, as a public read's handler takes it (`ReadDb(db): ReadDb`): a read can
/// reach nothing else.
pub struct ReadDb(pub PgPool);

impl FromRequestParts<AppState> for ReadDb {
    type Rejection = Infallible;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self(state.read_pool.clone()))
    }
}
