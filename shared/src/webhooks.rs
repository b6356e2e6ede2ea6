//! Outbound webhooks after the Standard Webhooks specification (<https://www.standardwebhooks.com>):
//! the event types we publish, endpoint secrets (`whsec_` + base64 of 32 random bytes) and the
//! signature `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Every event type an endpoint may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    GOODWILL_RECORDED,
    VOTE_CAST,
    PROPOSAL_OPENED,
    PROPOSAL_CLOSED,
    DELEGATION_CHANGED,
];
/// A goodwill action was recorded (and its points credited).
pub const GOODWILL_RECORDED: &str = "goodwill.recorded";
/// A vote was cast or replaced.
pub const VOTE_CAST: &str = "vote.cast";
/// A proposal opened for voting.
pub const PROPOSAL_OPENED: &str = "proposal.opened";
/// A proposal closed with its final tally.
pub const PROPOSAL_CLOSED: &str = "proposal.closed";
/// A delegation was created or revoked.
pub const DELEGATION_CHANGED: &str = "delegation.changed";

/// Prefix of every endpoint secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// An endpoint's signing secret (`whsec_…`). Its `Debug` output is redacted so it never reaches
/// a log line by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// A fresh secret: `whsec_` + base64 of 32 random bytes (the spec asks for 24 to 64).
    pub fn generate() -> Self {
        let key: [u8; 32] = rand::random();
        Self(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
    }

    /// Wraps a stored secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret as shown to the operator once and stored in the database.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the base64 part after `whsec_`, decoded.
    pub fn key(&self) -> Result<Vec<u8>, SignError> {
        let encoded = self.0.strip_prefix(SECRET_PREFIX).unwrap_or(&self.0);
        STANDARD
            .decode(encoded)
            .map_err(|_| SignError::MalformedSecret)
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// Why a payload could not be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The part after `whsec_` is not base64.
    #[error("the webhook secret is not `whsec_` followed by base64")]
    MalformedSecret,
}

/// The `webhook-signature` header value for one attempt: `v1,<base64 HMAC-SHA256>` of
/// `"{id}.{timestamp}.{body}"`.
pub fn sign(
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SignError> {
    let key = secret.key()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SignError::MalformedSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether `header` (a space-separated list of `v1,<sig>`) holds a valid signature of the
/// message: what a receiver checks (constant-time comparison).
pub fn verify(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Ok(key) = secret.key() else {
        return false;
    };
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|sig| STANDARD.decode(sig).ok())
        .any(|expected| {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
                return false;
            };
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        })
}

/// The `webhook-id` of a delivery row.
pub fn message_id(delivery_id: uuid::Uuid) -> String {
    format!("msg_{}", delivery_id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_reproduces_the_standard_webhooks_test_vector() {
        let secret = WebhookSecret::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let signature = sign(&secret, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body)
            .expect("a valid secret");
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        assert!(verify(
            &secret,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            body,
            &format!("v1,bm90IGl0 {signature}")
        ));
        assert!(!verify(
            &secret,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367554,
            body,
            &signature
        ));
    }

    #[test]
    fn a_generated_secret_has_the_prefix_and_at_least_24_key_bytes() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with(SECRET_PREFIX));
        assert!(secret.key().expect("base64").len() >= 24);
        assert_ne!(secret, WebhookSecret::generate());
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
    }
}
