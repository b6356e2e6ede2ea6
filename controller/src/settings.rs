//! `coin-controller` settings: one flag and environment variable per knob, each with its default.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, ValueEnum};
use coin_shared::{config::CommonSettings, schedules::CronSettings};

use crate::decide::Policy;

/// People's Coin controller: measures, decides worker replicas, scales, records and exports.
#[derive(Debug, Parser)]
#[command(name = "coin-controller", version)]
pub struct Cli {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub settings: ControllerSettings,
}

/// How decisions are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScalerKind {
    /// Patch `deployments/scale` of `WORKER_DEPLOYMENT` in `WORKER_NAMESPACE`.
    Kubernetes,
    /// Spawn and stop local `coin-worker` processes (the single-machine default).
    Process,
    /// Recommend and log only.
    None,
}

impl ScalerKind {
    /// The name recorded in `controller_actions.scaler`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kubernetes => "kubernetes",
            Self::Process => "process",
            Self::None => "none",
        }
    }
}

/// Settings of the controller.
#[derive(Debug, Clone, Args)]
pub struct ControllerSettings {
    /// Address of the Observability Node (`/health`, `/metrics`, `/api/...`).
    #[arg(long, env = "OBSERVABILITY_HOST", default_value = "0.0.0.0")]
    pub observability_host: String,

    /// Port of the Observability Node (0 picks a free one).
    #[arg(long, env = "OBSERVABILITY_PORT", default_value_t = 8080)]
    pub observability_port: u16,

    /// Address of the operator console (HTML, sign-in with an operator token).
    #[arg(long, env = "CONSOLE_HOST", default_value = "0.0.0.0")]
    pub console_host: String,

    /// Port of the operator console (0 picks a free one).
    #[arg(long, env = "CONSOLE_PORT", default_value_t = 8090)]
    pub console_port: u16,

    /// Minutes a console session lasts after sign-in.
    #[arg(long, env = "CONSOLE_SESSION_MINUTES", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub console_session_minutes: u32,

    /// HS256 secret the API signs tokens with; the console verifies operator tokens with it.
    /// Without it the console is not served.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<secrecy::SecretString>,

    /// How worker replicas are applied: kubernetes, process or none.
    #[arg(long, env = "SCALER", value_enum, default_value_t = ScalerKind::Process)]
    pub scaler: ScalerKind,

    /// Seconds between two evaluations; fractions allowed.
    #[arg(long, env = "CONTROLLER_INTERVAL", default_value_t = 5.0, value_parser = positive_number)]
    pub controller_interval: f64,

    /// Fewest worker replicas.
    #[arg(long, env = "MIN_WORKERS", default_value_t = 1)]
    pub min_workers: u32,

    /// Most worker replicas.
    #[arg(long, env = "MAX_WORKERS", default_value_t = 10)]
    pub max_workers: u32,

    /// Backlog (ready jobs) one replica is meant to carry, HPA's AverageValue target.
    #[arg(long, env = "TARGET_BACKLOG_PER_WORKER", default_value_t = 100.0, value_parser = positive_number)]
    pub target_backlog_per_worker: f64,

    /// Scale-down stabilization window in seconds: the highest recommendation within it wins.
    #[arg(long, env = "SCALE_DOWN_STABILIZATION_SECS", default_value_t = 300)]
    pub scale_down_stabilization_secs: u64,

    /// Seconds within which the measured throughput should drain the backlog.
    #[arg(long, env = "DRAIN_TARGET_SECS", default_value_t = 60.0, value_parser = positive_number)]
    pub drain_target_secs: f64,

    /// No scale-up while host CPU usage (0..1) is above this.
    #[arg(long, env = "MAX_HOST_CPU_RATIO", default_value_t = 0.9)]
    pub max_host_cpu_ratio: f64,

    /// No scale-up while host memory usage (0..1) is above this.
    #[arg(long, env = "MAX_HOST_MEMORY_RATIO", default_value_t = 0.9)]
    pub max_host_memory_ratio: f64,

    /// No scale-up while Postgres connections / max_connections is above this.
    #[arg(long, env = "MAX_DB_CONNECTIONS_RATIO", default_value_t = 0.85)]
    pub max_db_connections_ratio: f64,

    /// Decide and record, but never apply.
    #[arg(long, env = "DRY_RUN", default_value_t = false, action = clap::ArgAction::Set)]
    pub dry_run: bool,

    /// Days of `controller_actions` rows to keep.
    #[arg(long, env = "CONTROLLER_RETENTION_DAYS", default_value_t = 30)]
    pub controller_retention_days: u32,

    /// Deployment of the workers, for the kubernetes scaler.
    #[arg(long, env = "WORKER_DEPLOYMENT", default_value = "coin-worker")]
    pub worker_deployment: String,

    /// Namespace of that Deployment.
    #[arg(long, env = "WORKER_NAMESPACE", default_value = "default")]
    pub worker_namespace: String,

    /// The `coin-worker` executable for the process scaler [default: next to this executable].
    #[arg(long, env = "WORKER_BINARY")]
    pub worker_binary: Option<PathBuf>,

    /// First `WORKER_METRICS_PORT` of processes the process scaler spawns, each the next one; 0
    /// lets every worker pick a free port.
    #[arg(long, env = "WORKER_METRICS_PORT_BASE", default_value_t = 0)]
    pub worker_metrics_port_base: u16,

    /// The workers' cron schedules, read from the same variables as the worker, for the
    /// console's `/schedules` (give the controller the values the workers have).
    #[command(flatten)]
    pub schedules: CronSettings,

    /// Database, Redis and logging, as every binary reads them.
    #[command(flatten)]
    pub common: CommonSettings,
}

impl ControllerSettings {
    /// Parses command-line style arguments (the first is the program name); variables not given
    /// as flags come from the environment, as for the binary.
    pub fn parse_from<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Cli::parse_from(args).settings
    }

    /// Time between two evaluations.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.controller_interval)
    }

    /// How long a console session lasts.
    pub fn console_session(&self) -> Duration {
        Duration::from_secs(u64::from(self.console_session_minutes) * 60)
    }

    /// The decision policy these settings describe.
    pub fn policy(&self) -> Policy {
        Policy {
            min_replicas: self.min_workers,
            max_replicas: self.max_workers.max(self.min_workers),
            target_backlog_per_replica: self.target_backlog_per_worker,
            scale_down_stabilization: Duration::from_secs(self.scale_down_stabilization_secs),
            drain_target: Duration::from_secs_f64(self.drain_target_secs),
            max_host_cpu_ratio: self.max_host_cpu_ratio,
            max_host_memory_ratio: self.max_host_memory_ratio,
            max_db_connections_ratio: self.max_db_connections_ratio,
            stale_after: self.interval().mul_f64(3.0).max(Duration::from_secs(15)),
            ..Policy::default()
        }
    }
}

fn positive_number(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("expected a positive number, got {raw:?}")),
    }
}
