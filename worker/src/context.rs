//! What every job handler can reach.

use sqlx::PgPool;

/// Shared handler context, handed to apalis as `Data<JobContext>`.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The read-write pool.
    pub pool: PgPool,
}
