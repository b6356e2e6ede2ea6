//! A job in the form the push script takes it: id, encoded payload, due time, attempt limit.
//!
//! Its own module because the push script wrapper and the coalescer (which sit below the queue
//! handle) and the producer API (above it) all need it.

/// A job ready to be written.
#[derive(Debug, Clone, Default)]
pub(crate) struct EncodedJob {
    pub(crate) id: String,
    pub(crate) payload: Vec<u8>,
    /// `None` or past: ready now.
    pub(crate) run_at_ms: Option<i64>,
    pub(crate) max_attempts: Option<usize>,
}
