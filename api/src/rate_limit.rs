//! Per-token rate limit in Redis, shared by every API replica: a fixed one-minute window per
//! caller, one pipelined round trip per request.

use chrono::Utc;
use uuid::Uuid;

use crate::problem::{ApiError, ApiResult};

/// Counts requests per caller and minute.
#[derive(Clone)]
pub struct RateLimiter {
    conn: redis::aio::ConnectionManager,
    namespace: String,
    per_minute: u64,
}

impl RateLimiter {
    /// A limiter of `per_minute` requests per caller; 0 disables it.
    pub fn new(conn: redis::aio::ConnectionManager, namespace: String, per_minute: u64) -> Self {
        Self {
            conn,
            namespace,
            per_minute,
        }
    }

    /// Counts one request of `caller`; 429 with the seconds left in the window when over.
    pub async fn check(&self, caller: Uuid) -> ApiResult<()> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = Utc::now().timestamp();
        let window = now.div_euclid(60);
        let key = format!("{}:ratelimit:{caller}:{window}", self.namespace);
        let mut conn = self.conn.clone();
        let (count,): (u64,) = redis::pipe()
            .incr(&key, 1)
            .expire(&key, 120)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|e| ApiError::QueueUnavailable(e.into()))?;
        if count > self.per_minute {
            let retry_after = u64::try_from(60 - now.rem_euclid(60)).unwrap_or(60).max(1);
            metrics::counter!(coin_shared::metric_names::HTTP_RATE_LIMITED_TOTAL).increment(1);
            return Err(ApiError::TooManyRequests { retry_after });
        }
        Ok(())
    }
}
