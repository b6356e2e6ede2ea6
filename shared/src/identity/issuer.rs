//! Signs the development HS256 tokens (`coin-api token`, tests): `sub`, `role`, `iat`, `exp`.

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use uuid::Uuid;

use super::{error::IdentitySetupError, settings::MIN_SECRET_BYTES};

/// Signs tokens with the HS256 secret.
pub struct TokenIssuer {
    key: EncodingKey,
}

#[derive(Serialize)]
struct Signed<'a> {
    sub: Uuid,
    role: &'a str,
    iat: i64,
    exp: i64,
}

impl TokenIssuer {
    /// An issuer for `secret`; refuses secrets shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: &SecretString) -> Result<Self, IdentitySetupError> {
        let bytes = secret.expose_secret().as_bytes();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(IdentitySetupError::SecretTooShort);
        }
        Ok(Self {
            key: EncodingKey::from_secret(bytes),
        })
    }

    /// A token for `sub` in `role`, valid for `ttl` from now.
    pub fn issue(
        &self,
        sub: Uuid,
        role: &str,
        ttl: Duration,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now();
        let claims = Signed {
            sub,
            role,
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
    }
}
