//! Builds the application from settings; `main` runs it, tests spawn it on port 0.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use coin_shared::{
    config::DatabaseSettings, db, identity::Verifier, ops, queue::JobQueue, shutdown::Shutdown,
    telemetry,
};
use tokio::net::TcpListener;

use crate::{
    body_limits::BodyLimitsLayer,
    idempotency::IdempotencyStore,
    rate_limit::RateLimiter,
    routes,
    server::{self, ServerLimits},
    settings::ApiSettings,
    state::{AppState, Services},
    watchdog::Timeouts,
};

/// A bound, ready-to-serve API.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    limits: ServerLimits,
}

impl Application {
    /// Connects (lazily: the API starts even while Postgres or Redis is down), binds the port.
    pub async fn build(settings: &ApiSettings) -> anyhow::Result<Self> {
        let verifier = Verifier::new(&settings.identity)?;
        if let Some(keys) = verifier.key_set() {
            // Not fatal: the issuer may be down now, and the key set is read again on demand.
            match keys.refresh().await {
                Ok(count) => tracing::info!(keys = count, "read the issuer's key set"),
                Err(e) => tracing::warn!(error = %e, "could not read the issuer's key set yet"),
            }
        }
        let read_settings = DatabaseSettings {
            database_url: settings
                .database_read_url
                .clone()
                .unwrap_or_else(|| settings.common.database.database_url.clone()),
            ..settings.common.database.clone()
        };
        let read_pool = db::lazy_pool(&read_settings).context("invalid database URL")?;
        let queue = JobQueue::new(&settings.common.redis).context("invalid REDIS_URL")?;
        let metrics = telemetry::prometheus().context("could not install the metrics recorder")?;
        let namespace = settings.common.redis.queue_namespace.clone();
        let state = AppState::new(Services {
            read_pool,
            idempotency: IdempotencyStore::new(
                queue.connection(),
                namespace.clone(),
                settings.idempotency_ttl_secs,
            ),
            rate_limiter: RateLimiter::new(
                queue.connection(),
                namespace,
                settings.rate_limit_per_minute,
            ),
            queue,
            webhook_allow_private: settings.webhook_allow_private,
            verifier: Arc::new(verifier),
            metrics,
        });
        let listener = ops::listen(&settings.api_host, settings.api_port).await?;
        let bodies = BodyLimitsLayer::new(
            settings.max_body_bytes,
            settings.max_inflight_body_bytes,
            Duration::from_secs(settings.body_timeout_secs),
        );
        Ok(Self {
            listener,
            router: routes::router(state, bodies),
            limits: ServerLimits {
                timeouts: Timeouts {
                    header: Duration::from_secs(settings.header_timeout_secs),
                    idle: Duration::from_secs(settings.idle_timeout_secs),
                },
                max_connections: settings.max_connections,
            },
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests.
    pub async fn run_until(self, shutdown: impl Shutdown) -> anyhow::Result<()> {
        let address = self.local_addr()?;
        tracing::info!(%address, "coin-api listening");
        // What `/livez` answers over the connection cap: the same body as the route's.
        let liveness = serde_json::to_vec(&coin_shared::health::liveness(routes::SERVICE))
            .context("could not render the liveness answer")?;
        server::serve(self.listener, self.router, self.limits, liveness, shutdown).await;
        Ok(())
    }
}
