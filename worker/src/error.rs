//! How a job fails: permanently (recorded, never retried) or transiently (retried).

use apalis_core::error::{AbortError, BoxDynError};

/// A job's failure, classified.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The job can never succeed as it is (invalid payload, illegal state): not retried.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The job may succeed later (database down, serialization conflict): retried.
    #[error("transient failure: {0}")]
    Transient(#[source] anyhow::Error),
}

impl JobError {
    /// The label used in `coin_jobs_completed_total{outcome}`.
    pub fn outcome(&self) -> &'static str {
        match self {
            JobError::Permanent(_) => "permanent_failure",
            JobError::Transient(_) => "transient_failure",
        }
    }

    /// The error apalis sees: `AbortError` stops retries, anything else is retried.
    pub fn into_apalis(self) -> BoxDynError {
        match self {
            JobError::Permanent(reason) => Box::new(AbortError::new(reason)),
            transient => Box::new(transient),
        }
    }
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
