//! Why a token was refused (the API answers 401 with the sentence, the console shows it), and
//! why the identity settings cannot start.

use jsonwebtoken::Algorithm;

use super::settings::MIN_SECRET_BYTES;

/// A token that does not say who is calling.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Not three base64url parts with a JSON header.
    #[error("the token is not a JWT ({0})")]
    Malformed(jsonwebtoken::errors::Error),
    /// Signed with an algorithm no configured key accepts (`none` among them).
    #[error("tokens signed with {0:?} are not accepted here")]
    AlgorithmNotAccepted(Algorithm),
    /// An issuer's token without a key id.
    #[error("the token names no key (`kid` is missing from its header)")]
    MissingKeyId,
    /// A key id the key set does not hold, even after fetching it again.
    #[error("the issuer's key set has no key {0:?}")]
    UnknownKey(String),
    /// The token's `alg` is not the algorithm of the key it names.
    #[error("key {kid:?} is an {key:?} key; the token says {token:?}")]
    AlgorithmMismatch {
        /// The key id.
        kid: String,
        /// The key's algorithm.
        key: Algorithm,
        /// The token's.
        token: Algorithm,
    },
    /// The key set could not be fetched or read and holds nothing usable.
    #[error("the issuer's key set could not be read: {0}")]
    KeySetUnavailable(String),
    /// Bad signature, expired, not yet valid, wrong issuer or audience.
    #[error("{0}")]
    Rejected(jsonwebtoken::errors::Error),
    /// `exp` too far after `iat` (or after now, without `iat`).
    #[error("the token is valid for {lifetime} s, longer than the {max} s accepted")]
    LifetimeTooLong {
        /// Its lifetime in seconds.
        lifetime: i64,
        /// The most accepted (`JWT_MAX_LIFETIME_SECS`).
        max: i64,
    },
    /// `sub` is not a user id.
    #[error("the token's subject is not a user id (a UUID)")]
    BadSubject,
    /// The role claim is absent or holds no string.
    #[error("the token carries no role in its {0:?} claim")]
    MissingRole(String),
}

/// Identity settings that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum IdentitySetupError {
    /// The HS256 secret is short enough to brute-force offline.
    #[error("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long")]
    SecretTooShort,
    /// No way to verify anything.
    #[error(
        "no token can be verified: set JWT_JWKS_URL or JWT_JWKS_PATH (an issuer's key set) or, \
         for development, JWT_SECRET (at least {MIN_SECRET_BYTES} bytes)"
    )]
    NoKeys,
    /// Two key set sources.
    #[error("set JWT_JWKS_URL or JWT_JWKS_PATH, not both")]
    TwoKeySets,
    /// The key set URL is not http(s).
    #[error("JWT_JWKS_URL must be an http:// or https:// URL, not {0:?}")]
    BadKeySetUrl(String),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client for the key set: {0}")]
    Client(String),
}
