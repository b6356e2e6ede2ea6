//! The real router for unit tests, on dependencies that are never reached (nothing listens on
//! port 1): a request is answered before a handler would touch Postgres or Redis, except
//! `/health`, which times out on them quickly.

use std::{sync::Arc, time::Duration};

use axum::Router;
use coin_shared::{
    config::RedisSettings,
    identity::{IdentitySettings, Verifier},
    queue::JobQueue,
};
use secrecy::SecretString;

use crate::{
    body_limits::BodyLimitsLayer,
    idempotency::IdempotencyStore,
    rate_limit::RateLimiter,
    state::{AppState, Services},
};

/// The secret the test router's tokens are signed with.
pub const SECRET: &str = "unit-test-secret-0123456789";

/// The router of `crate::routes::router` on unreachable dependencies.
pub fn router() -> Router {
    let read_pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy("postgres://nobody@127.0.0.1:1/nothing")
        .expect("a lazy pool");
    let redis = RedisSettings {
        redis_url: SecretString::from("redis://127.0.0.1:1".to_owned()),
        queue_namespace: "unit-test".into(),
        redis_response_timeout_ms: 200,
        redis_connect_timeout_ms: 200,
    };
    let queue = JobQueue::new(&redis).expect("a lazy queue");
    let secret = SecretString::from(SECRET.to_owned());
    let state = AppState::new(Services {
        read_pool,
        idempotency: IdempotencyStore::new(queue.connection(), "t".into(), 60),
        rate_limiter: RateLimiter::new(queue.connection(), "t".into(), 0),
        queue,
        webhook_allow_private: false,
        verifier: Arc::new(Verifier::new(&IdentitySettings::secret(secret)).expect("a verifier")),
        metrics: metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle(),
    });
    crate::routes::router(state, body_limits())
}

/// The body bounds of the test router: 1 KiB bodies, 1 MiB of them at once, within 15 s.
pub fn body_limits() -> BodyLimitsLayer {
    BodyLimitsLayer::new(1024, 1024 * 1024, Duration::from_secs(15))
}
