//! `coin-worker` settings.

use clap::{Args, Parser};
use coin_shared::config::{DatabaseSettings, QueueSettings, RedisSettings, TelemetrySettings};

/// People's Coin worker: consumes the job queues and applies each job to Postgres exactly once.
#[derive(Debug, Parser)]
#[command(name = "coin-worker", version)]
pub struct Cli {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub settings: WorkerSettings,
}

/// Settings of one worker process.
#[derive(Debug, Clone, Args)]
pub struct WorkerSettings {
    /// Jobs run at once per queue in this process.
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub worker_concurrency: u32,

    /// Address of the `/health` and `/metrics` server.
    #[arg(long, env = "WORKER_METRICS_HOST", default_value = "0.0.0.0")]
    pub worker_metrics_host: String,

    /// Port of the `/health` and `/metrics` server (0 picks a free one).
    #[arg(long, env = "WORKER_METRICS_PORT", default_value_t = 9464)]
    pub worker_metrics_port: u16,

    /// Seconds in-flight jobs get to finish after SIGTERM before the process exits.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 25)]
    pub shutdown_grace_secs: u64,

    /// Prefix of this process' worker id (the pod name in Kubernetes); a random suffix is always
    /// added so that no two processes share an id (orphan recovery depends on it).
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
