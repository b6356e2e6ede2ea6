//! `Idempotency-Key` on every POST: a repeated key with the same body answers the same ids and
//! has one effect; the same key with another body answers 422.
//!
//! With a key, the entity id and the job id are derived from (caller, route, key), so even a
//! lost Redis record maps a retry to the same job (the queue ignores a known job id) and the
//! same row (the worker's effect is keyed on the entity id). The first answer is stored in Redis
//! for `IDEMPOTENCY_TTL_SECS` so a replay can return it as it was.

use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    auth::Caller,
    problem::{ApiError, ApiResult},
};

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
    ) -> ApiResult<Option<Self>> {
        headers
            .get(HEADER)
            .map(|raw| Self::from_header(raw, caller, route))
            .transpose()
    }

    /// The key of the header's value `raw`; 400 when unusable.
    pub fn from_header(raw: &HeaderValue, caller: &Caller, route: &str) -> ApiResult<Self> {
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
        Ok(Self {
            scope: hash.finalize().into(),
        })
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

/// A fingerprint of what was asked: method, route and the canonical JSON body (the raw bytes
/// when they are not JSON, so no two different bodies share a fingerprint).
pub fn fingerprint(method: &str, path: &str, body: Option<&[u8]>) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update([0]);
    hash.update(path.as_bytes());
    hash.update([0]);
    match body.map(|raw| (raw, serde_json::from_slice::<serde_json::Value>(raw))) {
        // serde_json's maps are sorted, so equal JSON documents serialize equally.
        Some((_, Ok(value))) => {
            hash.update(b"json");
            hash.update(value.to_string().as_bytes());
        }
        Some((raw, Err(_))) => {
            hash.update(b"raw");
            hash.update(raw);
        }
        None => hash.update(b"none"),
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store keeps under a key: the request's fingerprint, when it was accepted and its
/// answer, *pending* until the push is known to have reached Redis.
#[derive(Serialize, Deserialize)]
struct Record {
    fingerprint: String,
    /// When the first request was accepted: a retry rebuilds its jobs as of this instant, so
    /// the job it pushes again is the same job, judged by the same rules.
    accepted_at: DateTime<Utc>,
    /// Whether the push may not have happened (the claim was made, the answer not confirmed).
    pending: bool,
    /// The first answer.
    answer: StoredAnswer,
}

/// A first answer, as it is replayed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAnswer {
    /// Its status.
    pub status: u16,
    /// Its body.
    pub body: serde_json::Value,
}

/// What the store says about a key.
pub enum Claim {
    /// First use: push the jobs, then [`IdempotencyStore::complete`] (or
    /// [`IdempotencyStore::release`] if the push failed).
    Fresh,
    /// Seen with the same request. The earlier request may have died between its claim and its
    /// push, so the caller pushes the jobs again (rebuilt as of `accepted_at`; the queue ignores
    /// known ids) before answering.
    Seen {
        /// When the first request was accepted.
        accepted_at: DateTime<Utc>,
        /// Whether the first request's push was never confirmed.
        pending: bool,
        /// The first answer.
        answer: StoredAnswer,
    },
}

/// Keeps claims and first answers in Redis.
#[derive(Clone)]
pub struct IdempotencyStore {
    conn: redis::aio::ConnectionManager,
    namespace: String,
    ttl_secs: u64,
}

impl IdempotencyStore {
    /// A store in `namespace`, keeping claims and answers for `ttl_secs`.
    pub fn new(conn: redis::aio::ConnectionManager, namespace: String, ttl_secs: u64) -> Self {
        Self {
            conn,
            namespace,
            ttl_secs,
        }
    }

    /// Claims a key with a pending record of `answer`, atomically, in one round trip
    /// (`SET NX GET`); on a repeat, says when the first request was accepted and what it
    /// answered, or 422 when the request differs.
    pub async fn claim(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        accepted_at: DateTime<Utc>,
        answer: &StoredAnswer,
    ) -> ApiResult<Claim> {
        let mut conn = self.conn.clone();
        let previous: Option<String> = self
            .set(key, fingerprint, accepted_at, true, answer)?
            .arg("NX")
            .arg("GET")
            .arg("EX")
            .arg(self.ttl_secs)
            .query_async(&mut conn)
            .await
            .map_err(|e| ApiError::QueueUnavailable(e.into()))?;
        let Some(previous) = previous else {
            return Ok(Claim::Fresh);
        };
        let previous: Record = serde_json::from_str(&previous).map_err(|e| {
            ApiError::Internal(anyhow::anyhow!("unreadable idempotency record: {e}"))
        })?;
        if previous.fingerprint != fingerprint {
            return Err(ApiError::IdempotencyKeyReused);
        }
        Ok(Claim::Seen {
            accepted_at: previous.accepted_at,
            pending: previous.pending,
            answer: previous.answer,
        })
    }

    /// Marks a claim whose jobs are in Redis as answered, keeping its expiry, in the
    /// background: the answer does not wait for it. A failure only costs a later retry one more
    /// (harmless) push, so it is logged and counted, not returned.
    pub fn complete(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        accepted_at: DateTime<Utc>,
        answer: &StoredAnswer,
    ) {
        let (store, key) = (self.clone(), key.clone());
        let (fingerprint, answer) = (fingerprint.to_owned(), answer.clone());
        tokio::spawn(async move {
            store
                .mark_answered(&key, &fingerprint, accepted_at, &answer)
                .await;
        });
    }

    async fn mark_answered(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        accepted_at: DateTime<Utc>,
        answer: &StoredAnswer,
    ) {
        let stored = async {
            let mut conn = self.conn.clone();
            let _: Option<String> = self
                .set(key, fingerprint, accepted_at, false, answer)?
                .arg("XX")
                .arg("KEEPTTL")
                .query_async(&mut conn)
                .await
                .map_err(|e| ApiError::QueueUnavailable(e.into()))?;
            Ok::<(), ApiError>(())
        };
        if let Err(e) = stored.await {
            store_failed("complete", &e);
        }
    }

    /// `SET <key> <record of answer>`, to which each caller adds its conditions.
    fn set(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        accepted_at: DateTime<Utc>,
        pending: bool,
        answer: &StoredAnswer,
    ) -> ApiResult<redis::Cmd> {
        let record = Record {
            fingerprint: fingerprint.to_owned(),
            accepted_at,
            pending,
            answer: answer.clone(),
        };
        let record = serde_json::to_string(&record).map_err(|e| ApiError::Internal(e.into()))?;
        let mut set = redis::cmd("SET");
        set.arg(key.redis_key(&self.namespace)).arg(record);
        Ok(set)
    }

    /// Forgets a claim whose push failed, so the client's retry is treated as new. A failure
    /// is logged and counted: the pending claim it leaves makes the retry push again, so
    /// nothing is lost.
    pub async fn release(&self, key: &IdempotencyKey) {
        let mut conn = self.conn.clone();
        let released: Result<(), _> = conn.del(key.redis_key(&self.namespace)).await;
        if let Err(e) = released {
            store_failed("release", &ApiError::QueueUnavailable(e.into()));
        }
    }
}

/// A claim could not be completed or released: harmless for correctness (a pending claim makes
/// the next retry push again), but worth seeing.
fn store_failed(operation: &'static str, error: &ApiError) {
    tracing::warn!(operation, error = %error, "idempotency record not updated");
    metrics::counter!(
        coin_shared::metric_names::IDEMPOTENCY_STORE_FAILURES_TOTAL,
        "operation" => operation
    )
    .increment(1);
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
        let a = br#"{"a": 1, "b": 2}"#;
        let b = br#"{"b":2,"a":1}"#;
        let c = br#"{"a":1,"b":3}"#;
        let print = |body: &[u8]| fingerprint("POST", "/x", Some(body));
        assert_eq!(print(a), print(b));
        assert_ne!(print(a), print(c));
    }

    #[test]
    fn bodies_that_are_not_json_differ_from_each_other_and_from_no_body() {
        let print = |body: Option<&[u8]>| fingerprint("POST", "/x", body);
        let (first, second) = (print(Some(b"{}xyz")), print(Some(b"{}abc")));
        assert_ne!(first, second);
        assert_ne!(first, print(None));
        assert_ne!(print(Some(b"{}")), print(None));
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
