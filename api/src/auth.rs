//! Who is calling and in which role: the bearer token, verified by the shared
//! [`Verifier`] (an issuer's key set, or the development HS256 secret), read as a [`Caller`];
//! [`TokenIssuer`] signs the development tokens `coin-api token` prints.

use axum::{extract::FromRequestParts, http::request::Parts};
use chrono::Duration;
use coin_shared::identity::{self, IdentitySetupError, Verifier};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::{ApiError, ApiResult};

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

/// Failures of signing a development token.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// The secret cannot sign.
    #[error(transparent)]
    Setup(#[from] IdentitySetupError),
    /// Signing failed.
    #[error("could not sign the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// Signs development HS256 tokens in a [`Role`].
pub struct TokenIssuer(identity::TokenIssuer);

impl TokenIssuer {
    /// An issuer for `secret`; refuses secrets shorter than
    /// [`identity::MIN_SECRET_BYTES`].
    pub fn new(secret: &SecretString) -> Result<Self, AuthSetupError> {
        Ok(Self(identity::TokenIssuer::new(secret)?))
    }

    /// A token for `sub` in `role`, valid for `ttl`.
    pub fn issue(&self, sub: Uuid, role: Role, ttl: Duration) -> Result<String, AuthSetupError> {
        Ok(self.0.issue(sub, role.as_str(), ttl)?)
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
    /// not `Bearer <token>`, or not a valid token of `verifier`; 403 when its role claim names
    /// none of ours.
    pub async fn from_authorization(
        header: Option<&axum::http::HeaderValue>,
        verifier: &Verifier,
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
        let identity = verifier
            .verify(token)
            .await
            .map_err(|e| ApiError::Unauthorized(format!("the bearer token is not valid: {e}")))?;
        let role = identity
            .roles
            .iter()
            .find_map(|r| Role::named(r))
            .ok_or_else(|| {
                ApiError::Forbidden(format!(
                    "the token's roles {:?} are none of member, council, operator or service",
                    identity.roles
                ))
            })?;
        Ok(Caller {
            user_id: identity.subject,
            role,
        })
    }
}

impl Role {
    /// The role a token's claim names, if it is one of ours.
    pub fn named(name: &str) -> Option<Self> {
        [Role::Member, Role::Council, Role::Operator, Role::Service]
            .into_iter()
            .find(|r| r.as_str() == name)
    }

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
    use axum::http::HeaderValue;
    use chrono::Duration;
    use coin_shared::identity::{IdentitySettings, Verifier};
    use secrecy::SecretString;
    use uuid::Uuid;

    use crate::auth::{Caller, Role, TokenIssuer};

    const SECRET: &str = "0123456789abcdef-secret";

    fn bearer(token: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value")
    }

    fn verifier(secret: &str) -> Verifier {
        Verifier::new(&IdentitySettings::secret(SecretString::from(
            secret.to_owned(),
        )))
        .expect("a verifier")
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(&SecretString::from(SECRET.to_owned())).expect("valid secret")
    }

    #[tokio::test]
    async fn a_token_issued_with_the_secret_names_its_caller() {
        let sub = Uuid::now_v7();
        let token = issuer()
            .issue(sub, Role::Service, Duration::hours(1))
            .expect("sign");
        let caller = Caller::from_authorization(Some(&bearer(&token)), &verifier(SECRET))
            .await
            .expect("a caller");
        assert_eq!(caller.user_id, sub);
        assert_eq!(caller.role, Role::Service);
    }

    #[tokio::test]
    async fn other_secrets_expiry_and_long_lives_are_refused() {
        let other = TokenIssuer::new(&SecretString::from("other-secret-0123456789".to_owned()))
            .expect("issuer")
            .issue(Uuid::now_v7(), Role::Member, Duration::hours(1))
            .expect("sign");
        let expired = issuer()
            .issue(Uuid::now_v7(), Role::Member, Duration::hours(-1))
            .expect("sign");
        let centuries = issuer()
            .issue(Uuid::now_v7(), Role::Member, Duration::days(365 * 400))
            .expect("sign");
        for token in [other, expired, centuries] {
            let refused = Caller::from_authorization(Some(&bearer(&token)), &verifier(SECRET))
                .await
                .expect_err("refused");
            assert!(
                matches!(refused, crate::problem::ApiError::Unauthorized(_)),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn a_short_secret_is_refused_at_start() {
        let short = SecretString::from("short".to_owned());
        assert!(TokenIssuer::new(&short).is_err());
        assert_eq!(Role::named("operator"), Some(Role::Operator));
        assert_eq!(Role::named("admin"), None);
    }
}
