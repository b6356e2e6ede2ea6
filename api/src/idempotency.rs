//! `Idempotency-Key` on every POST: a repeated key with the same body answers the same ids and
//! has one effect; the same key with another body answers 422.
//!
//! With a key, the entity id and the job id are derived from (caller, route, key), so even a
//! lost Redis record maps a retry to the same job (the queue ignores a known job id) and the
//! same row (the worker's effect is keyed on the entity id). The first answer is stored in Redis
//! for `IDEMPOTENCY_TTL_SECS` so a replay can return it as it was.

use axum::http::HeaderMap;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{auth::Caller, problem::ApiError};

/// The header clients send.
pub const HEADER: &str = "idempotency-key";
/// Longest key we accept.
pub const MAX_KEY_LEN: usize = 255;

/// A client's idempotency key, scoped to the caller and the route.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    scope: [u8; 32],
}

impl IdempotencyKey {
    /// Reads the header; `None` when absent, 400 when unusable.
    pub fn from_headers(
        headers: &HeaderMap,
        caller: &Caller,
        route: &str,
    ) -> Result<Option<Self>, ApiError> {
        let Some(raw) = headers.get(HEADER) else {
            return Ok(None);
        };
        let key = raw
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
            .ok_or_else(|| ApiError::BadRequest {
                detail: format!(
                    "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
                ),
                field: Some("Idempotency-Key".into()),
            })?;
        let mut hash = Sha256::new();
        hash.update(caller.user_id.as_bytes());
        hash.update(route.as_bytes());
        hash.update([0]);
        hash.update(key.as_bytes());
        Ok(Some(Self {
            scope: hash.finalize().into(),
        }))
    }

    /// A stable id derived from the key, distinct per `purpose` (`"entity"`, `"job"`, `"job:3"`).
    pub fn derive_id(&self, purpose: &str) -> Uuid {
        let mut hash = Sha256::new();
        hash.update(self.scope);
        hash.update(purpose.as_bytes());
        let digest: [u8; 32] = hash.finalize().into();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }

    fn redis_key(&self, namespace: &str) -> String {
        let hex: String = self.scope.iter().map(|b| format!("{b:02x}")).collect();
        format!("{namespace}:idempotency:{hex}")
    }
}

/// A fingerprint of what was asked: method, route and the canonical JSON body.
pub fn fingerprint(method: &str, path: &str, body: Option<&serde_json::Value>) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update([0]);
    hash.update(path.as_bytes());
    hash.update([0]);
    if let Some(body) = body {
        // serde_json's maps are sorted, so equal JSON documents serialize equally.
        hash.update(body.to_string().as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Serialize, Deserialize)]
struct Record {
    fingerprint: String,
    status: u16,
    body: serde_json::Value,
}

/// What the store says about a key.
pub enum Claim {
    /// First use: go ahead, then keep (or release on failure).
    Fresh,
    /// Seen with the same request: answer this again.
    Replay {
        /// The first answer's status.
        status: u16,
        /// The first answer's body.
        body: serde_json::Value,
    },
}

/// Stores first answers in Redis.
#[derive(Clone)]
pub struct IdempotencyStore {
    conn: redis::aio::ConnectionManager,
    namespace: String,
    ttl_secs: u64,
}

impl IdempotencyStore {
    /// A store in `namespace`, keeping answers for `ttl_secs`.
    pub fn new(conn: redis::aio::ConnectionManager, namespace: String, ttl_secs: u64) -> Self {
        Self {
            conn,
            namespace,
            ttl_secs,
        }
    }

    /// Records the answer for a first use, atomically; on a repeat, returns the first answer or
    /// a 422 when the request differs.
    pub async fn claim(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        status: u16,
        body: &serde_json::Value,
    ) -> Result<Claim, ApiError> {
        let record = serde_json::to_string(&Record {
            fingerprint: fingerprint.to_owned(),
            status,
            body: body.clone(),
        })
        .map_err(|e| ApiError::Internal(e.into()))?;
        let mut conn = self.conn.clone();
        let redis_key = key.redis_key(&self.namespace);
        let set: Option<String> = redis::cmd("SET")
            .arg(&redis_key)
            .arg(&record)
            .arg("NX")
            .arg("EX")
            .arg(self.ttl_secs)
            .query_async(&mut conn)
            .await
            .map_err(|e| ApiError::QueueUnavailable(e.into()))?;
        if set.is_some() {
            return Ok(Claim::Fresh);
        }
        let existing: Option<String> = conn
            .get(&redis_key)
            .await
            .map_err(|e| ApiError::QueueUnavailable(e.into()))?;
        let existing: Record = existing
            .and_then(|raw| serde_json::from_str(&raw).ok())
            .ok_or_else(|| {
                ApiError::Conflict(
                    "the Idempotency-Key is being used by a request in flight; retry shortly"
                        .into(),
                )
            })?;
        if existing.fingerprint != fingerprint {
            return Err(ApiError::IdempotencyKeyReused);
        }
        Ok(Claim::Replay {
            status: existing.status,
            body: existing.body,
        })
    }

    /// Forgets a key whose request failed, so the client's retry is treated as new.
    pub async fn release(&self, key: &IdempotencyKey) {
        let mut conn = self.conn.clone();
        let _: Result<(), _> = conn.del(key.redis_key(&self.namespace)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(id: Uuid) -> Caller {
        Caller {
            user_id: id,
            role: crate::auth::Role::Member,
        }
    }

    fn key(caller: &Caller, route: &str, value: &str) -> IdempotencyKey {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, value.parse().expect("header"));
        IdempotencyKey::from_headers(&headers, caller, route)
            .expect("valid")
            .expect("present")
    }

    #[test]
    fn the_same_key_derives_the_same_ids_and_another_caller_other_ids() {
        let (a, b) = (caller(Uuid::now_v7()), caller(Uuid::now_v7()));
        let k1 = key(&a, "/v1/proposals", "k-1");
        let k2 = key(&a, "/v1/proposals", "k-1");
        let other = key(&b, "/v1/proposals", "k-1");
        assert_eq!(k1.derive_id("entity"), k2.derive_id("entity"));
        assert_ne!(k1.derive_id("entity"), k1.derive_id("job"));
        assert_ne!(k1.derive_id("entity"), other.derive_id("entity"));
    }

    #[test]
    fn fingerprints_ignore_key_order_but_not_values() {
        let a = serde_json::json!({"a": 1, "b": 2});
        let b: serde_json::Value = serde_json::from_str(r#"{"b":2,"a":1}"#).expect("json");
        let c = serde_json::json!({"a": 1, "b": 3});
        assert_eq!(
            fingerprint("POST", "/x", Some(&a)),
            fingerprint("POST", "/x", Some(&b))
        );
        assert_ne!(
            fingerprint("POST", "/x", Some(&a)),
            fingerprint("POST", "/x", Some(&c))
        );
    }

    #[test]
    fn an_empty_or_overlong_key_is_a_bad_request() {
        let c = caller(Uuid::now_v7());
        for bad in ["", &"k".repeat(MAX_KEY_LEN + 1)] {
            let mut headers = HeaderMap::new();
            headers.insert(HEADER, bad.parse().expect("header"));
            assert!(IdempotencyKey::from_headers(&headers, &c, "/r").is_err());
        }
    }
}
