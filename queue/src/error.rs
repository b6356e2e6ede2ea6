//! Error type of the queue.

use std::time::Duration;

/// Everything that can go wrong talking to the queue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// Redis refused or failed a command (connection, timeout, script error).
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A payload could not be encoded or decoded as JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A Lua script answered something this crate does not understand.
    #[error("unexpected reply from `{script}`: {detail}")]
    Protocol {
        /// Script name.
        script: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A stored job id could not be turned into a [`apalis_core::task::task_id::TaskId`].
    #[error("invalid job id `{0}`")]
    InvalidId(String),
    /// The backend was polled as a worker before `BackendConfig::middleware` bound it.
    #[error("backend polled as a worker before WorkerBuilder bound it (middleware not called)")]
    NotBound,
    /// A search cursor this crate did not hand out.
    #[error("invalid cursor `{0}`")]
    InvalidCursor(String),
    /// Redis kept failing for longer than the configured tolerance.
    #[error("redis unavailable for {0:?}; last error: {1}")]
    Unavailable(Duration, String),
}

/// Result alias for queue operations.
pub type Result<T, E = QueueError> = std::result::Result<T, E>;
