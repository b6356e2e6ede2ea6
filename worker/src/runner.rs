//! Wires the queues to their handlers under one apalis `Monitor` and runs until shutdown.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use apalis::prelude::{Monitor, WorkerBuilder, WorkerBuilderExt};
use apalis_cron::CronScheduler;
use coin_shared::{
    db,
    jobs::{CastVote, DeliverWebhook, DistributionChunk, Governance, RecordGoodwill},
    queue::JobQueue,
    telemetry,
};
use tokio::net::TcpListener;

use crate::{
    context::JobContext,
    jobs::{
        cast_vote, deliver_webhook, distribution_chunk,
        goodwill_batch::{BatchSettings, GoodwillBatcher},
        governance, record_goodwill,
    },
    schedules,
    settings::WorkerSettings,
};

/// Cron worker names carry this marker: only they are restarted when they fail (a cron
/// scheduler whose next tick fell into the past stops with "tick out of range"; a fresh one
/// computes the next tick from now).
const CRON_MARKER: &str = "-cron-";

/// Registers a cron worker running `$handler` on `$schedule` (an `Option<cron::Schedule>`; `None`
/// registers nothing). A macro because the handler types differ per schedule.
macro_rules! cron_worker {
    ($monitor:expr, $id:expr, $name:literal, $schedule:expr, $ctx:expr, $handler:path) => {
        match $schedule {
            Some(schedule) => {
                let name = format!("{}{CRON_MARKER}{}", $id, $name);
                let ctx = $ctx.clone();
                $monitor.register(move |run| {
                    WorkerBuilder::new(format!("{name}-{run}"))
                        .backend(CronScheduler::new(schedule.clone()))
                        .data(ctx.clone())
                        .build($handler)
                })
            }
            None => $monitor,
        }
    };
}

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
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(Duration::from_secs(settings.webhooks.webhook_timeout_secs))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("peoples-coin-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("could not build the webhook HTTP client")?;
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
            ctx: JobContext {
                goodwill,
                pool,
                queue: queue.clone(),
                http,
                webhooks: settings.webhooks.clone(),
                schedules: settings.schedules.clone(),
                worker_id: worker_id.clone(),
            },
            settings,
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
        let ops = coin_shared::ops::Ops {
            service: "coin-worker",
            pool: self.ctx.pool.clone(),
            queue: self.queue.clone(),
            metrics,
            details: None,
        };
        let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(self.listener, coin_shared::ops::router::<()>(ops))
            .with_graceful_shutdown(async move {
                let _ = http_stopped.await;
            });
        let server = tokio::spawn(async move { server.await });

        let concurrency = self.settings.worker_concurrency as usize;
        let goodwill_concurrency = self.settings.goodwill_concurrency as usize;
        let grace = Duration::from_secs(self.settings.shutdown_grace_secs);
        let webhook_concurrency = self.settings.webhooks.webhook_concurrency as usize;
        let cron = &self.settings.schedules;
        let relay_schedule = schedules::parse("RELAY_CRON", &cron.relay_cron)?;
        let auto_close_schedule = schedules::parse("AUTO_CLOSE_CRON", &cron.auto_close_cron)?;
        let distribution_schedule = schedules::parse("DISTRIBUTION_CRON", &cron.distribution_cron)?;
        let reconciliation_schedule =
            schedules::parse("RECONCILIATION_CRON", &cron.reconciliation_cron)?;
        let retention_schedule = schedules::parse("RETENTION_CRON", &cron.retention_cron)?;
        let queue = self.queue.clone();
        let ctx = self.ctx.clone();
        let id = self.worker_id.clone();
        tracing::info!(worker.id = %id, concurrency, goodwill_concurrency, "coin-worker starting");
        let (q1, q2, q3) = (
            queue.storage::<RecordGoodwill>()?,
            queue.storage::<CastVote>()?,
            queue.storage::<Governance>()?,
        );
        let (q4, q5) = (
            queue.storage::<DeliverWebhook>()?,
            queue.storage::<DistributionChunk>()?,
        );
        let (c1, c2, c3, c4, c5) = (
            ctx.clone(),
            ctx.clone(),
            ctx.clone(),
            ctx.clone(),
            ctx.clone(),
        );
        let (n4, n5) = (format!("{id}-webhooks"), format!("{id}-distribution"));
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
            .register(move |_| {
                WorkerBuilder::new(n4.clone())
                    .backend(q4.clone())
                    .concurrency(webhook_concurrency)
                    .data(c4.clone())
                    .build(deliver_webhook::handle)
            })
            // Chunks of one period serialize on the pool wallet anyway.
            .register(move |_| {
                WorkerBuilder::new(n5.clone())
                    .backend(q5.clone())
                    .concurrency(2)
                    .data(c5.clone())
                    .build(distribution_chunk::handle)
            });
        let monitor = cron_worker!(
            monitor,
            id,
            "relay",
            relay_schedule,
            ctx,
            schedules::relay::tick
        );
        let monitor = cron_worker!(
            monitor,
            id,
            "auto-close",
            auto_close_schedule,
            ctx,
            schedules::auto_close::tick
        );
        let monitor = cron_worker!(
            monitor,
            id,
            "distribution",
            distribution_schedule,
            ctx,
            schedules::distribution::tick
        );
        let monitor = cron_worker!(
            monitor,
            id,
            "reconciliation",
            reconciliation_schedule,
            ctx,
            schedules::reconciliation::tick
        );
        let monitor = cron_worker!(
            monitor,
            id,
            "retention",
            retention_schedule,
            ctx,
            schedules::retention::tick
        );
        let monitor = monitor
            .should_restart(|worker, error| {
                let cron = worker.name().contains(CRON_MARKER);
                if cron {
                    tracing::warn!(worker = worker.name(), %error, "cron worker failed; restarting it");
                }
                cron
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
