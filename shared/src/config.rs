//! Settings read from the environment (or flags), one `clap::Args` group per concern so each
//! binary composes exactly what it needs and `--help` documents every variable and its default.

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

/// What every server binary reads: its database, its Redis and how it logs. Each binary
/// flattens this one group, so the variables, defaults and `--help` text are the same in all.
#[derive(Debug, Clone, Args)]
pub struct CommonSettings {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub redis: RedisSettings,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub telemetry: TelemetrySettings,
}

/// PostgreSQL connection settings.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// PostgreSQL URL of the primary (read-write) database
    /// [default: postgres://postgres:postgres@127.0.0.1:5432/peoples_coin].
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/peoples_coin",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub database_url: SecretString,

    /// Upper bound of pooled connections of this process.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// Run pending migrations at start (safe when several processes start at once: sqlx holds
    /// an advisory lock while it migrates).
    #[arg(long, env = "RUN_MIGRATIONS", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_migrations: bool,
}

impl DatabaseSettings {
    /// The URL with its password, for the pool only: never log it.
    pub fn url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

/// Redis connection and job-queue settings.
#[derive(Debug, Clone, Args)]
pub struct RedisSettings {
    /// Redis URL; its database number (`/0`..`/15`) is honoured
    /// [default: redis://127.0.0.1:6379/0].
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379/0",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub redis_url: SecretString,

    /// Prefix of every queue key, so several deployments (or tests) can share one Redis.
    #[arg(long, env = "QUEUE_NAMESPACE", default_value = "coin")]
    pub queue_namespace: String,

    /// How long one Redis command may take before it fails (milliseconds). redis-rs' default of
    /// 500 ms is too short for bulk pushes under load.
    #[arg(long, env = "REDIS_RESPONSE_TIMEOUT_MS", default_value_t = 5_000)]
    pub redis_response_timeout_ms: u64,

    /// How long connecting to Redis may take (milliseconds); requests fail fast after it.
    #[arg(long, env = "REDIS_CONNECT_TIMEOUT_MS", default_value_t = 1_000)]
    pub redis_connect_timeout_ms: u64,
}

impl RedisSettings {
    /// The URL with its password, for the client only: never log it.
    pub fn url(&self) -> &str {
        self.redis_url.expose_secret()
    }
}

/// How jobs are retried and recovered (read by workers; the API only pushes).
#[derive(Debug, Clone, Args)]
pub struct QueueSettings {
    /// Deliveries a job gets (the first included) before it goes to the dead set; transient
    /// failures are retried with exponential backoff and jitter until then.
    #[arg(long, env = "JOB_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub job_max_attempts: u32,

    /// First retry delay in milliseconds; it doubles per attempt (with jitter).
    #[arg(long, env = "JOB_BACKOFF_BASE_MS", default_value_t = 1_000)]
    pub job_backoff_base_ms: u64,

    /// Longest retry delay in seconds.
    #[arg(long, env = "JOB_BACKOFF_MAX_SECS", default_value_t = 300)]
    pub job_backoff_max_secs: u64,

    /// A worker silent this long (seconds) is presumed dead; any live worker re-queues its
    /// in-flight jobs. Heartbeats run at a sixth of it.
    #[arg(long, env = "ORPHAN_RECOVERY_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(3..=3_600))]
    pub orphan_recovery_secs: u64,

    /// Jobs a worker claims per round trip, beyond those running.
    #[arg(long, env = "WORKER_PREFETCH", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub worker_prefetch: u64,

    /// Seconds a finished job's status record (state, attempts, result) is kept for
    /// `GET /v1/jobs/{id}`; 0 drops it at once. About 270 bytes of Redis per job: at 1,000
    /// jobs/s each hour of retention costs about 1 GB. Dead and cancelled jobs are kept until
    /// an operator acts.
    #[arg(long, env = "JOB_RESULT_TTL_SECS", default_value_t = 3_600, value_parser = clap::value_parser!(u64).range(0..=30 * 86_400))]
    pub job_result_ttl_secs: u64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            job_max_attempts: 8,
            job_backoff_base_ms: 1_000,
            job_backoff_max_secs: 300,
            orphan_recovery_secs: 30,
            worker_prefetch: 256,
            job_result_ttl_secs: 3_600,
        }
    }
}

/// Log output settings (`RUST_LOG` is read by the tracing filter itself).
#[derive(Debug, Clone, Args)]
pub struct TelemetrySettings {
    /// Log format: `pretty` for people, `json` for log pipelines.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured when on a terminal.
    Pretty,
    /// One JSON object per line.
    Json,
}
