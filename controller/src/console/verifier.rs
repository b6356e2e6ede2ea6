//! Verifies sign-in tokens: the API's HS256 operator JWTs, checked with the same `JWT_SECRET`
//! and the same rules the API applies.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use uuid::Uuid;

use super::error::ConsoleError;

/// Shortest secret accepted, as the API requires.
const MIN_SECRET_BYTES: usize = 16;

/// The claims the API signs; the role stays text so any role can be named in a refusal.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: Uuid,
    role: String,
    exp: i64,
}

/// Verifies the API's HS256 tokens.
pub struct OperatorVerifier {
    key: DecodingKey,
    validation: Validation,
}

/// `JWT_SECRET` is too short to be safe.
#[derive(Debug, thiserror::Error)]
#[error("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long")]
pub struct SecretTooShort;

impl OperatorVerifier {
    /// A verifier for tokens signed with `secret`, validated as the API validates them.
    pub fn new(secret: &SecretString) -> Result<Self, SecretTooShort> {
        let bytes = secret.expose_secret().as_bytes();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretTooShort);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self {
            key: DecodingKey::from_secret(bytes),
            validation,
        })
    }

    /// The operator a valid, unexpired operator token speaks for, and how long the token has
    /// left.
    pub fn operator(&self, token: &str) -> Result<(Uuid, Duration), ConsoleError> {
        let claims = jsonwebtoken::decode::<Claims>(token.trim(), &self.key, &self.validation)
            .map_err(|e| {
                ConsoleError::Forbidden(format!("that token is not valid ({e}); paste the whole token as `coin-api token --role operator` prints it"))
            })?
            .claims;
        if claims.role != "operator" {
            return Err(ConsoleError::Forbidden(format!(
                "the console is for operators; this token's role is {:?}",
                claims.role
            )));
        }
        let left = u64::try_from(claims.exp - chrono::Utc::now().timestamp()).unwrap_or(0);
        if left == 0 {
            return Err(ConsoleError::Forbidden(
                "that token has expired; make a new one".into(),
            ));
        }
        Ok((claims.sub, Duration::from_secs(left)))
    }
}
