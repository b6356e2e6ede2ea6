//! Wires the queues to their handlers under one apalis `Monitor` and runs until shutdown.

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use anyhow::Context;
use apalis::prelude::{Monitor, WorkerBuilder};
use apalis_core::task::data::Data;
use apalis_cron::CronScheduler;
use apalis_cron::Tick;
use coin_shared::{
    db,
    jobs::{CastVote, DeliverWebhook, DistributionChunk, Governance, RecordGoodwill},
    operations::Operation,
    queue::JobQueue,
    shutdown::Shutdown,
    telemetry,
    workers::{ANNOUNCE_EVERY, WorkerProcess},
};
use tokio::net::TcpListener;

use crate::{
    context::JobContext,
    handler::{Handler, register},
    jobs::goodwill_batch::{BatchSettings, GoodwillBatcher},
    queue_selection::QueueSelection,
    schedules::{self, TickFn},
    settings::WorkerSettings,
};

/// Announces this process every [`ANNOUNCE_EVERY`] until it is aborted (the operators' list of
/// workers reads it); a failed announcement is retried at the next one.
async fn announce(queue: JobQueue, process: WorkerProcess) {
    loop {
        if let Err(e) = queue.announce(&process).await {
            tracing::warn!(error = %e, "could not announce this worker");
        }
        tokio::time::sleep(ANNOUNCE_EVERY).await;
    }
}

/// The host's name: `HOSTNAME` (the pod's name in Kubernetes), else `/etc/hostname`.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Cron worker names carry this marker: only they are restarted when they fail (a cron
/// scheduler whose next tick fell into the past stops with "tick out of range"; a fresh one
/// computes the next tick from now).
const CRON_MARKER: &str = "-cron-";

/// Registers a cron worker running `tick` on `schedule`, named with [`CRON_MARKER`] so that it
/// alone is restarted when it fails.
fn register_cron(
    monitor: Monitor,
    ctx: &JobContext,
    name: &str,
    schedule: cron::Schedule,
    tick: TickFn,
) -> Monitor {
    let name = format!("{}{CRON_MARKER}{name}", ctx.worker_id);
    let ctx = ctx.clone();
    monitor.register(move |run| {
        WorkerBuilder::new(format!("{name}-{run}"))
            .backend(CronScheduler::new(schedule.clone()))
            .data(ctx.clone())
            .build(move |at: Tick, ctx: Data<JobContext>| tick(at, ctx))
    })
}

/// Registers the queue workers of the queues a process serves, noting each one's concurrency
/// for its announcement.
struct Served<'a> {
    selection: &'a QueueSelection,
    queue: &'a JobQueue,
    ctx: &'a JobContext,
    concurrency: BTreeMap<String, usize>,
}

impl Served<'_> {
    /// Registers `H`'s queue worker when its queue is selected; else leaves `monitor` as is.
    fn register<H: Handler>(
        &mut self,
        monitor: Monitor,
        concurrency: usize,
    ) -> anyhow::Result<Monitor> {
        if !self.selection.serves(H::QUEUE) {
            return Ok(monitor);
        }
        self.concurrency.insert(H::QUEUE.to_owned(), concurrency);
        register::<H>(monitor, self.queue, self.ctx, concurrency)
    }
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
        let pool = db::connect_and_migrate(&settings.common.database)
            .await
            .context("could not prepare the database")?;
        let queue = JobQueue::with_settings(&settings.common.redis, &settings.queue)
            .context("invalid REDIS_URL")?;
        let listener =
            coin_shared::ops::listen(&settings.worker_metrics_host, settings.worker_metrics_port)
                .await?;
        let worker_id = settings.worker_id();
        let mut http = reqwest::Client::builder();
        if !settings.webhooks.webhook_allow_private {
            http = http.dns_resolver(std::sync::Arc::new(crate::public_dns::PublicOnly));
        }
        let http = http
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
                goodwill_limit: crate::throttle::Throttle::per_sec(
                    settings.goodwill_max_jobs_per_sec,
                ),
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
    pub async fn run_until(self, shutdown: impl Shutdown) -> anyhow::Result<()> {
        let metrics = telemetry::prometheus().context("could not install the metrics recorder")?;
        let ops = coin_shared::ops::Ops {
            service: "coin-worker",
            pool: self.ctx.pool.clone(),
            queue: self.queue.clone(),
            metrics,
            details: None,
            readiness: coin_shared::health::Readiness::PostgresAndRedis,
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
        let queue = self.queue.clone();
        let ctx = self.ctx.clone();
        tracing::info!(worker.id = %self.worker_id, concurrency, goodwill_concurrency, "coin-worker starting");
        // Governance commands are rare and often depend on each other (create, then open):
        // one at a time per process keeps their order within a process. Chunks of one period
        // serialize on the pool wallet anyway. Audit rows and bulk actions: a bulk action walks
        // its matches one window at a time.
        let (governance_concurrency, distribution_concurrency, operations_concurrency) = (1, 2, 2);
        // Only the queues of `WORKER_QUEUES`; the announcement lists just those.
        let mut served = Served {
            selection: &self.settings.worker_queues,
            queue: &queue,
            ctx: &ctx,
            concurrency: BTreeMap::new(),
        };
        let monitor = served.register::<RecordGoodwill>(Monitor::new(), goodwill_concurrency)?;
        let monitor = served.register::<CastVote>(monitor, concurrency)?;
        let monitor = served.register::<Governance>(monitor, governance_concurrency)?;
        let monitor = served.register::<DeliverWebhook>(monitor, webhook_concurrency)?;
        let monitor = served.register::<DistributionChunk>(monitor, distribution_concurrency)?;
        let mut monitor = served.register::<Operation>(monitor, operations_concurrency)?;
        tracing::info!(queues = %self.settings.worker_queues, "serving queues");
        let process = WorkerProcess {
            worker_id: self.worker_id.clone(),
            host: host_name(),
            pid: std::process::id(),
            started_at: chrono::Utc::now(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            concurrency: served.concurrency,
        };
        let announcer = tokio::spawn(announce(queue.clone(), process));
        for (cron, tick) in schedules::all(&self.settings.schedules) {
            if let Some(schedule) = cron.parsed()? {
                monitor = register_cron(monitor, &ctx, cron.name, schedule, tick);
            }
        }
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
        announcer.abort();
        if let Err(e) = queue.retire(&self.worker_id).await {
            tracing::warn!(error = %e, "could not retire this worker's announcement");
        }
        let _ = stop_http.send(());
        if let Ok(Err(e)) = server.await {
            tracing::warn!(error = %e, "metrics server stopped with an error");
        }
        result.context("the worker monitor failed")?;
        tracing::info!("coin-worker stopped");
        Ok(())
    }
}
