//! Bearer JWT authentication (HS256): who is calling and in which role.

use axum::{extract::FromRequestParts, http::request::Parts};
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::{ApiError, ApiResult};

/// Shortest secret we accept: HS256 with a short secret can be brute-forced offline.
pub const MIN_SECRET_BYTES: usize = 16;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A community member acting as itself.
    Member,
    /// Manages proposals.
    Council,
    /// Manages council membership and dead jobs.
    Operator,
    /// A trusted client that may post goodwill actions on behalf of users.
    Service,
}

/// The claims we sign and verify.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id the token speaks for.
    pub sub: Uuid,
    /// The caller's role.
    pub role: Role,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
}

/// Failures of key set-up or signing.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// The secret is too short to be safe.
    #[error("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long")]
    SecretTooShort,
    /// Signing failed.
    #[error("could not sign the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// Signs and verifies tokens with one HS256 secret.
pub struct TokenVerifier {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

impl TokenVerifier {
    /// Keys from the secret; refuses secrets shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: &SecretString) -> Result<Self, AuthSetupError> {
        let bytes = secret.expose_secret().as_bytes();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(AuthSetupError::SecretTooShort);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self {
            decoding: DecodingKey::from_secret(bytes),
            encoding: EncodingKey::from_secret(bytes),
            validation,
        })
    }

    /// A token for `sub` in `role`, valid for `ttl`.
    pub fn issue(&self, sub: Uuid, role: Role, ttl: Duration) -> Result<String, AuthSetupError> {
        let now = Utc::now();
        let claims = Claims {
            sub,
            role,
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The claims of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims)
    }
}

/// The authenticated caller of a request, put in the request's extensions by
/// `crate::guard::guard` (which answers 401 and 429 before any handler runs). Extracting
/// it where that layer did not run is a bug, answered 500.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The user id the token speaks for.
    pub user_id: Uuid,
    /// Its role.
    pub role: Role,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        parts.extensions.get::<Caller>().copied().ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "a route reads the caller but is not behind the authentication layer"
            ))
        })
    }
}

impl Caller {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], action: &str) -> ApiResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::Forbidden(format!(
                "{action} needs the {} role",
                names.join(" or ")
            )))
        }
    }
}

impl Caller {
    /// The caller a bearer `Authorization` header value speaks for; 401 when it is missing,
    /// not `Bearer <token>`, or not a valid token of `verifier`.
    pub fn from_authorization(
        header: Option<&axum::http::HeaderValue>,
        verifier: &TokenVerifier,
    ) -> ApiResult<Self> {
        let header =
            header.ok_or_else(|| ApiError::Unauthorized("a bearer token is required".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        let claims = verifier
            .verify(token)
            .map_err(|e| ApiError::Unauthorized(format!("the bearer token is not valid: {e}")))?;
        Ok(Caller {
            user_id: claims.sub,
            role: claims.role,
        })
    }
}

impl Role {
    /// The role's name in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Council => "council",
            Role::Operator => "operator",
            Role::Service => "service",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(secret: &str) -> TokenVerifier {
        TokenVerifier::new(&SecretString::from(secret.to_owned())).expect("valid secret")
    }

    #[test]
    fn a_token_issued_with_a_secret_verifies_with_the_same_secret() {
        let v = verifier("0123456789abcdef-secret");
        let sub = Uuid::now_v7();
        let token = v
            .issue(sub, Role::Service, Duration::hours(1))
            .expect("sign");
        let claims = v.verify(&token).expect("verify");
        assert_eq!(claims.sub, sub);
        assert_eq!(claims.role, Role::Service);
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let token = verifier("first-secret-0123456789")
            .issue(Uuid::now_v7(), Role::Member, Duration::hours(1))
            .expect("sign");
        assert!(verifier("other-secret-0123456789").verify(&token).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let v = verifier("0123456789abcdef-secret");
        let token = v
            .issue(Uuid::now_v7(), Role::Member, Duration::hours(-1))
            .expect("sign");
        assert!(v.verify(&token).is_err());
    }

    #[test]
    fn a_short_secret_is_refused_at_start() {
        let short = SecretString::from("short".to_owned());
        assert!(matches!(
            TokenVerifier::new(&short),
            Err(AuthSetupError::SecretTooShort)
        ));
    }
}
