//! `coin-worker` command line and settings.

use clap::{Args, Parser, Subcommand};
use coin_shared::config::{DatabaseSettings, QueueSettings, RedisSettings, TelemetrySettings};

/// People's Coin worker: consumes the job queues and applies each job to Postgres exactly once.
#[derive(Debug, Parser)]
#[command(name = "coin-worker", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; without one, run the worker.
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub settings: WorkerSettings,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the worker (the default).
    Run(WorkerSettings),
    /// Inspect and replay the dead set.
    Dead {
        #[command(subcommand)]
        #[allow(missing_docs)]
        action: DeadAction,
        #[command(flatten)]
        #[allow(missing_docs)]
        redis: RedisSettings,
    },
}

/// `coin-worker dead …`
#[derive(Debug, Subcommand)]
pub enum DeadAction {
    /// List dead jobs, newest first, with the reason each died.
    List {
        /// Only this queue (goodwill, votes, governance); all queues by default.
        #[arg(long)]
        queue: Option<String>,
        /// At most this many per queue.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Put dead jobs back in their queue under the same ids (so their effects stay idempotent).
    Replay {
        /// The job ids to replay.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        job_ids: Vec<String>,
        /// Replay every dead job (of `--queue`, or of all queues).
        #[arg(long)]
        all: bool,
        /// With `--all`: only this queue.
        #[arg(long, requires = "all")]
        queue: Option<String>,
    },
}

/// Settings of one worker process.
#[derive(Debug, Clone, Args)]
pub struct WorkerSettings {
    /// Vote jobs run at once in this process (governance runs one at a time).
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub worker_concurrency: u32,

    /// Goodwill jobs in flight at once per process: each waits cheaply for its group commit, so
    /// this should be at least `GOODWILL_BATCH_SIZE` for full batches.
    #[arg(long, env = "GOODWILL_CONCURRENCY", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub goodwill_concurrency: u32,

    /// Most goodwill actions committed in one Postgres transaction.
    #[arg(long, env = "GOODWILL_BATCH_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub goodwill_batch_size: u32,

    /// Milliseconds a batch waits for more actions after its first one arrives.
    #[arg(long, env = "GOODWILL_BATCH_LINGER_MS", default_value_t = 2)]
    pub goodwill_batch_linger_ms: u64,

    /// Goodwill batches written at once (each on its own connection).
    #[arg(long, env = "GOODWILL_BATCH_PARALLEL", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub goodwill_batch_parallel: u32,

    /// Seconds a goodwill batch keeps retrying a transient database failure before its jobs
    /// go back to the queue's backoff (a short Postgres outage then costs no attempt).
    #[arg(long, env = "GOODWILL_DB_PATIENCE_SECS", default_value_t = 20)]
    pub goodwill_db_patience_secs: u64,

    /// Address of the `/health` and `/metrics` server.
    #[arg(long, env = "WORKER_METRICS_HOST", default_value = "0.0.0.0")]
    pub worker_metrics_host: String,

    /// Port of the `/health` and `/metrics` server (0 picks a free one).
    #[arg(long, env = "WORKER_METRICS_PORT", default_value_t = 9464)]
    pub worker_metrics_port: u16,

    /// Seconds in-flight jobs get to finish after SIGTERM before the process exits.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 25)]
    pub shutdown_grace_secs: u64,

    /// Prefix of this process' worker id (the pod name in Kubernetes); the pid and a random
    /// suffix are always added so that no two processes share an id (orphan recovery
    /// depends on it). Defaults to `HOSTNAME`, else `coin-worker`.
    #[arg(long, env = "WORKER_ID_PREFIX")]
    pub worker_id_prefix: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub redis: RedisSettings,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub queue: QueueSettings,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub telemetry: TelemetrySettings,
}

impl WorkerSettings {
    /// A worker id unique to this process: prefix (or `HOSTNAME`), pid and a random suffix.
    pub fn worker_id(&self) -> String {
        let prefix = self
            .worker_id_prefix
            .clone()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "coin-worker".to_owned());
        let suffix: u32 = rand::random();
        format!("{prefix}-{}-{suffix:08x}", std::process::id())
    }
}
