//! What every job handler can reach.

use sqlx::PgPool;

use crate::jobs::goodwill_batch::GoodwillBatcher;

/// Shared handler context, handed to apalis as `Data<JobContext>`.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The read-write pool.
    pub pool: PgPool,
    /// Group commit for goodwill actions.
    pub goodwill: GoodwillBatcher,
}
