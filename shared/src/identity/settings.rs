//! The identity settings every binary that verifies tokens reads, with their defaults.

use std::path::PathBuf;

use clap::Args;
use secrecy::SecretString;

/// Shortest HS256 secret accepted: a short one can be brute-forced offline.
pub const MIN_SECRET_BYTES: usize = 16;

/// How bearer tokens are verified.
#[derive(Debug, Clone, Args)]
pub struct IdentitySettings {
    /// HS256 secret that signs (`coin-api token`) and verifies tokens, at least 16 bytes: for
    /// development and tests; with a key set too, both are accepted.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,

    /// URL of the issuer's JSON Web Key Set (RS256, ES256 and EdDSA keys, by `kid`).
    #[arg(long, env = "JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,

    /// A file holding the key set instead of a URL (read again like the URL).
    #[arg(long, env = "JWT_JWKS_PATH")]
    pub jwt_jwks_path: Option<PathBuf>,

    /// Seconds the key set is trusted before it is read again (an unknown `kid` reads it at
    /// once, at most every few seconds).
    #[arg(long, env = "JWT_JWKS_CACHE_SECS", default_value_t = 300)]
    pub jwt_jwks_cache_secs: u64,

    /// Required `iss` of every token, when set.
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` of every token, when set.
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// The claim that holds the caller's role: a name or a dotted path into nested claims
    /// (`realm_access.roles`), holding a string or an array of strings.
    #[arg(long, env = "JWT_ROLE_CLAIM", default_value = "role")]
    pub jwt_role_claim: String,

    /// Longest lifetime accepted, in seconds: `exp - iat` (or `exp - now` without `iat`).
    #[arg(long, env = "JWT_MAX_LIFETIME_SECS", default_value_t = 86_400, value_parser = clap::value_parser!(i64).range(1..))]
    pub jwt_max_lifetime_secs: i64,
}

impl IdentitySettings {
    /// Only the development secret, everything else at its default (tests and tools).
    pub fn secret(secret: SecretString) -> Self {
        Self {
            jwt_secret: Some(secret),
            jwt_jwks_url: None,
            jwt_jwks_path: None,
            jwt_jwks_cache_secs: 300,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_role_claim: "role".to_owned(),
            jwt_max_lifetime_secs: 86_400,
        }
    }
}
