//! What every job handler can reach.

use coin_shared::queue::JobQueue;
use sqlx::PgPool;

use crate::{
    jobs::goodwill_batch::GoodwillBatcher,
    settings::{ScheduleSettings, WebhookSettings},
    throttle::Throttle,
};

/// Shared handler context, handed to apalis as `Data<JobContext>`.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The read-write pool.
    pub pool: PgPool,
    /// Group commit for goodwill actions.
    pub goodwill: GoodwillBatcher,
    /// `GOODWILL_MAX_JOBS_PER_SEC`: a token per goodwill job before it joins a batch.
    pub goodwill_limit: Throttle,
    /// The queues, for schedules that enqueue work (relay).
    pub queue: JobQueue,
    /// Outbound HTTP for webhook deliveries (rustls, `WEBHOOK_TIMEOUT_SECS`, no redirects).
    pub http: reqwest::Client,
    /// Webhook delivery settings.
    pub webhooks: WebhookSettings,
    /// Schedule settings.
    pub schedules: ScheduleSettings,
    /// This process' worker id (recorded with the schedule ticks it runs).
    pub worker_id: String,
}
