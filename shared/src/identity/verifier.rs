//! The one token verifier: the header's `alg` picks the key (the HS256 secret, or the key set's
//! key named by `kid`, whose own algorithm must match), then the signature, `exp`, `nbf`,
//! `iss` and `aud` are checked by `jsonwebtoken`, and the lifetime, subject and role here.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;

use super::{
    claims::{Claims, Identity},
    error::{IdentityError, IdentitySetupError},
    keys::KeySet,
    settings::{IdentitySettings, MIN_SECRET_BYTES},
};

/// Seconds of clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;

/// Verifies bearer tokens.
pub struct Verifier {
    secret: Option<DecodingKey>,
    keys: Option<KeySet>,
    issuer: Option<String>,
    audience: Option<String>,
    role_claim: String,
    max_lifetime_secs: i64,
    /// One validation per accepted algorithm, built once (a `Validation` allocates).
    validations: Vec<(Algorithm, Validation)>,
}

impl Verifier {
    /// The verifier `settings` describe.
    pub fn new(settings: &IdentitySettings) -> Result<Self, IdentitySetupError> {
        let secret = settings
            .jwt_secret
            .as_ref()
            .map(|s| {
                let bytes = s.expose_secret().as_bytes();
                if bytes.len() < MIN_SECRET_BYTES {
                    return Err(IdentitySetupError::SecretTooShort);
                }
                Ok(DecodingKey::from_secret(bytes))
            })
            .transpose()?;
        let cache_for = Duration::from_secs(settings.jwt_jwks_cache_secs);
        let keys = match (&settings.jwt_jwks_url, &settings.jwt_jwks_path) {
            (Some(_), Some(_)) => return Err(IdentitySetupError::TwoKeySets),
            (Some(url), None) => Some(KeySet::url(url, cache_for)?),
            (None, Some(path)) => Some(KeySet::path(path.clone(), cache_for)),
            (None, None) => None,
        };
        if secret.is_none() && keys.is_none() {
            return Err(IdentitySetupError::NoKeys);
        }
        let mut verifier = Self {
            secret,
            keys,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            role_claim: settings.jwt_role_claim.clone(),
            max_lifetime_secs: settings.jwt_max_lifetime_secs,
            validations: Vec::new(),
        };
        verifier.validations = [
            Algorithm::HS256,
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ]
        .into_iter()
        .map(|alg| (alg, verifier.validation(alg)))
        .collect();
        Ok(verifier)
    }

    /// The key set, when one is configured (to read it at startup).
    pub fn key_set(&self) -> Option<&KeySet> {
        self.keys.as_ref()
    }

    /// Who `token` speaks for, or why it is refused.
    pub async fn verify(&self, token: &str) -> Result<Identity, IdentityError> {
        let header = jsonwebtoken::decode_header(token).map_err(IdentityError::Malformed)?;
        let algorithm = header.alg;
        let from_set;
        let key = match (algorithm, &self.secret, &self.keys) {
            (Algorithm::HS256, Some(secret), _) => secret,
            (Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA, _, Some(keys)) => {
                let kid = header.kid.as_deref().ok_or(IdentityError::MissingKeyId)?;
                from_set = keys.key(kid, algorithm).await?;
                &*from_set
            }
            _ => return Err(IdentityError::AlgorithmNotAccepted(algorithm)),
        };
        let validation = self
            .validations
            .iter()
            .find(|(alg, _)| *alg == algorithm)
            .map(|(_, v)| v)
            .ok_or(IdentityError::AlgorithmNotAccepted(algorithm))?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, validation)
            .map_err(IdentityError::Rejected)?
            .claims;
        let lifetime = claims.lifetime(chrono::Utc::now().timestamp());
        if lifetime > self.max_lifetime_secs {
            return Err(IdentityError::LifetimeTooLong {
                lifetime,
                max: self.max_lifetime_secs,
            });
        }
        claims.identity(&self.role_claim)
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        validation
    }
}
