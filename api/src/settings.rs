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

    /// Seconds a connection may take to send a request's headers (counted from its accept, or
    /// from the first byte of a later request on a kept-alive connection); then it is closed.
    #[arg(long, env = "API_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Seconds a request's body may take to arrive in full, from the end of its headers; then
    /// it is cut (408 problem+json, connection closed).
    #[arg(long, env = "API_BODY_TIMEOUT_SECS", default_value_t = 15)]
    pub body_timeout_secs: u64,

    /// Seconds a kept-alive connection may wait for its next request before it is closed.
    #[arg(long, env = "API_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,

    /// Most open connections served; beyond it a new connection gets a bare 503 with
    /// `Retry-After: 1` and is closed (a few more are kept for `GET /livez`). Keep it under the
    /// process' file descriptor limit (`ulimit -n`).
    #[arg(long, env = "API_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Most request body bytes held at once, across all requests (a body counts its declared
    /// `Content-Length`, or MAX_BODY_BYTES when chunked); a request beyond it answers 503 with
    /// `Retry-After`.
    #[arg(long, env = "API_MAX_INFLIGHT_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_inflight_body_bytes: usize,

    /// Requests per minute one caller (token subject) may make, across all replicas; 0 disables.
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u64,

    /// Accept webhook endpoints at loopback, private and link-local addresses (tests and local
    /// development only; never in production).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,

    /// How long the first answer to an `Idempotency-Key` is kept, in seconds.
    #[arg(long, env = "IDEMPOTENCY_TTL_SECS", default_value_t = 86_400)]
    pub idempotency_ttl_secs: u64,

    /// Database, Redis and logging, as every binary reads them.
    #[command(flatten)]
    pub common: CommonSettings,
}
