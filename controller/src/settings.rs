//! `coin-controller` settings.

use clap::{Args, Parser};
use coin_shared::config::{DatabaseSettings, RedisSettings, TelemetrySettings};

/// People's Coin controller: measures, decides worker replicas, scales, records and exports.
#[derive(Debug, Parser)]
#[command(name = "coin-controller", version)]
pub struct Cli {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub settings: ControllerSettings,
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
