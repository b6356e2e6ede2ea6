//! The controller process: dependencies, the HTTP server, graceful shutdown.

use std::{future::Future, net::SocketAddr, time::Instant};

use anyhow::Context;
use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use coin_shared::{db, queue::JobQueue, telemetry};
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::settings::ControllerSettings;

/// What the HTTP handlers read.
#[derive(Clone)]
pub struct AppState {
    /// Postgres (read for measurements, written for `controller_actions`).
    pub pool: PgPool,
    /// The job queues it measures.
    pub queue: JobQueue,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// When the process started, for uptime.
    pub started: Instant,
}

/// A bound controller, ready to run.
pub struct ControllerApp {
    listener: TcpListener,
    state: AppState,
}

impl ControllerApp {
    /// Connects to Postgres (migrating if enabled) and Redis, and binds the Observability port.
    pub async fn build(settings: &ControllerSettings) -> anyhow::Result<Self> {
        let pool = db::connect_and_migrate(&settings.database)
            .await
            .context("could not prepare the database")?;
        let queue = JobQueue::new(&settings.redis).context("invalid REDIS_URL")?;
        let metrics = telemetry::prometheus().context("could not install the metrics recorder")?;
        let address = format!(
            "{}:{}",
            settings.observability_host, settings.observability_port
        );
        let listener = TcpListener::bind(&address)
            .await
            .with_context(|| format!("could not listen on {address}"))?;
        Ok(Self {
            listener,
            state: AppState {
                pool,
                queue,
                metrics,
                started: Instant::now(),
            },
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.local_addr()?, "coin-controller listening");
        let router = Router::new()
            .route("/health", get(health))
            .route("/metrics", get(metrics))
            .with_state(self.state);
        axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the HTTP server failed")
    }
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let report = coin_shared::health::check("coin-controller", &state.pool, &state.queue).await;
    let status = if report.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
