//! How a job fails: permanently (recorded, never retried), transiently (retried after the
//! queue's backoff), transiently after a delay the handler states (retried then), or by an
//! operator's cancellation (recorded `cancelled`).

use std::time::Duration;

use apalis_core::error::{AbortError, BoxDynError, RetryAfterError};

/// A job's failure, classified.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The job can never succeed as it is (invalid payload, illegal state): not retried.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The job may succeed later (database down, serialization conflict): retried.
    #[error("transient failure: {0}")]
    Transient(#[source] anyhow::Error),
    /// The job may succeed after the delay the handler states (a receiver's `Retry-After`):
    /// retried then, not after the queue's backoff.
    #[error("transient failure, retry in {0:?}: {1}")]
    RetryAfter(Duration, String),
    /// An operator cancelled the job and the handler stopped at a safe point: recorded
    /// `cancelled`, never retried.
    #[error("cancelled: {0}")]
    Cancelled(String),
}

impl JobError {
    /// The label used in `coin_jobs_completed_total{outcome}`.
    pub fn outcome(&self) -> &'static str {
        match self {
            JobError::Permanent(_) => "permanent_failure",
            JobError::Transient(_) | JobError::RetryAfter(..) => "transient_failure",
            JobError::Cancelled(_) => "cancelled",
        }
    }

    /// The error apalis sees: `AbortError` stops retries, `RetryAfterError` carries the
    /// handler's delay (the queue's ack path schedules the next attempt by it), anything else is
    /// retried after the backoff.
    pub fn into_apalis(self) -> BoxDynError {
        match self {
            JobError::Permanent(reason) => Box::new(AbortError::new(reason)),
            JobError::RetryAfter(delay, reason) => Box::new(RetryAfterError::new(reason, delay)),
            JobError::Cancelled(reason) => Box::new(coin_shared::queue::Cancelled(reason)),
            transient => Box::new(transient),
        }
    }
}

/// The row a job needs, or the permanent failure `{what} does not exist`.
pub fn existing<T>(row: Option<T>, what: impl std::fmt::Display) -> Result<T, JobError> {
    row.ok_or_else(|| JobError::Permanent(format!("{what} does not exist")))
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        // Integrity and data errors (SQLSTATE classes 22 and 23) say the payload itself is bad;
        // everything else (connection loss, serialization failure, deadlock, timeouts) may pass.
        let permanent = e
            .as_database_error()
            .and_then(|db| db.code())
            .map(|code| code.starts_with("22") || code.starts_with("23"))
            .unwrap_or(false);
        if permanent {
            JobError::Permanent(e.to_string())
        } else {
            JobError::Transient(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stated_delay_reaches_apalis_as_retry_after() {
        let e = JobError::RetryAfter(Duration::from_secs(2), "429".into()).into_apalis();
        let retry = e
            .downcast_ref::<RetryAfterError>()
            .expect("a RetryAfterError");
        assert_eq!(retry.get_duration(), Duration::from_secs(2));
        let e = JobError::Permanent("no".into()).into_apalis();
        assert!(e.downcast_ref::<AbortError>().is_some());
        let e = JobError::Cancelled("operator".into()).into_apalis();
        assert!(e.downcast_ref::<coin_shared::queue::Cancelled>().is_some());
        let e = JobError::Transient(anyhow::anyhow!("later")).into_apalis();
        assert!(e.downcast_ref::<RetryAfterError>().is_none());
    }
}
