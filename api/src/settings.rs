//! `coin-api` settings: every variable, its default and its meaning in one struct.

use clap::Args;
use coin_shared::{config::CommonSettings, identity::IdentitySettings};
use secrecy::SecretString;

/// Settings of the HTTP server.
#[derive(Debug, Clone, Args)]
pub struct ApiSettings {
    /// Address to listen on.
    #[arg(long, env = "API_HOST", default_value = "0.0.0.0")]
    pub api_host: String,

    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "API_PORT", default_value_t = 8000)]
    pub api_port: u16,

    /// How bearer tokens are verified: an issuer's key set and/or the development secret.
    #[command(flatten)]
    pub identity: IdentitySettings,

    /// PostgreSQL URL for reads (a replica); defaults to DATABASE_URL.
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<SecretString>,

    /// Largest accepted request body, in bytes (larger answers 413).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Requests per minute one caller (token subject) may make, across all replicas; 0 disables.
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u64,

    /// How long the first answer to an `Idempotency-Key` is kept, in seconds.
    #[arg(long, env = "IDEMPOTENCY_TTL_SECS", default_value_t = 86_400)]
    pub idempotency_ttl_secs: u64,

    /// Database, Redis and logging, as every binary reads them.
    #[command(flatten)]
    pub common: CommonSettings,
}
