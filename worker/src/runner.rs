//! Wires the queues to their handlers under one apalis `Monitor` and runs until shutdown.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use apalis::prelude::{Monitor, WorkerBuilder, WorkerBuilderExt};
use coin_shared::{
    db,
    jobs::{CastVote, Governance, RecordGoodwill},
    queue::JobQueue,
    telemetry,
};
use tokio::net::TcpListener;

use crate::{
    context::JobContext,
    http::{self, HttpState},
    jobs::{
        cast_vote,
        goodwill_batch::{BatchSettings, GoodwillBatcher},
        governance, record_goodwill,
    },
    settings::WorkerSettings,
};

/// A worker process, connected and bound, ready to run.
pub struct WorkerApp {
    settings: WorkerSettings,
    ctx: JobContext,
    queue: JobQueue,
    listener: TcpListener,
    worker_id: String,
}

impl WorkerApp {
    /// Connects to Postgres (running migrations if enabled) and binds the metrics port.
    pub async fn build(settings: WorkerSettings) -> anyhow::Result<Self> {
        let pool = db::connect_and_migrate(&settings.database)
            .await
            .context("could not prepare the database")?;
        let queue = JobQueue::with_settings(&settings.redis, &settings.queue)
            .context("invalid REDIS_URL")?;
        let address = format!(
            "{}:{}",
            settings.worker_metrics_host, settings.worker_metrics_port
        );
        let listener = TcpListener::bind(&address)
            .await
            .with_context(|| format!("could not listen on {address}"))?;
        let worker_id = settings.worker_id();
        let goodwill = GoodwillBatcher::start(
            pool.clone(),
            BatchSettings {
                max_batch: settings.goodwill_batch_size as usize,
                linger: Duration::from_millis(settings.goodwill_batch_linger_ms),
                parallel: settings.goodwill_batch_parallel as usize,
                patience: Duration::from_secs(settings.goodwill_db_patience_secs),
            },
        );
        Ok(Self {
            settings,
            ctx: JobContext { goodwill, pool },
            queue,
            listener,
            worker_id,
        })
    }

    /// The address of the `/health` and `/metrics` server.
    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// This process' unique worker id.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Runs every queue's worker and the HTTP server until `shutdown` resolves; then stops
    /// fetching, lets in-flight jobs finish within `SHUTDOWN_GRACE_SECS`, and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let metrics = telemetry::prometheus().context("could not install the metrics recorder")?;
        let http_state = HttpState {
            pool: self.ctx.pool.clone(),
            queue: self.queue.clone(),
            metrics,
        };
        let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(self.listener, http::router(http_state)).with_graceful_shutdown(
            async move {
                let _ = http_stopped.await;
            },
        );
        let server = tokio::spawn(async move { server.await });

        let concurrency = self.settings.worker_concurrency as usize;
        let goodwill_concurrency = self.settings.goodwill_concurrency as usize;
        let grace = Duration::from_secs(self.settings.shutdown_grace_secs);
        let queue = self.queue.clone();
        let ctx = self.ctx.clone();
        let id = self.worker_id.clone();
        tracing::info!(worker.id = %id, concurrency, goodwill_concurrency, "coin-worker starting");
        let (q1, q2, q3) = (
            queue.storage::<RecordGoodwill>()?,
            queue.storage::<CastVote>()?,
            queue.storage::<Governance>()?,
        );
        let (c1, c2, c3) = (ctx.clone(), ctx.clone(), ctx);
        let (n1, n2, n3) = (
            format!("{id}-goodwill"),
            format!("{id}-votes"),
            format!("{id}-governance"),
        );
        let monitor = Monitor::new()
            .register(move |_| {
                WorkerBuilder::new(n1.clone())
                    .backend(q1.clone())
                    .concurrency(goodwill_concurrency)
                    .data(c1.clone())
                    .build(record_goodwill::handle)
            })
            .register(move |_| {
                WorkerBuilder::new(n2.clone())
                    .backend(q2.clone())
                    .concurrency(concurrency)
                    .data(c2.clone())
                    .build(cast_vote::handle)
            })
            // Governance commands are rare and often depend on each other (create, then open):
            // one at a time per process keeps their order within a process.
            .register(move |_| {
                WorkerBuilder::new(n3.clone())
                    .backend(q3.clone())
                    .concurrency(1)
                    .data(c3.clone())
                    .build(governance::handle)
            })
            .shutdown_timeout(grace);
        let result = monitor
            .run_with_signal(async move {
                shutdown.await;
                Ok(())
            })
            .await;
        let _ = stop_http.send(());
        if let Ok(Err(e)) = server.await {
            tracing::warn!(error = %e, "metrics server stopped with an error");
        }
        result.context("the worker monitor failed")?;
        tracing::info!("coin-worker stopped");
        Ok(())
    }
}
