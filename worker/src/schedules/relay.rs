//! The outbox relay: pending webhook deliveries and distribution chunks into their queues.
//!
//! Rows are locked with `SKIP LOCKED`, pushed under their own id (the queue skips an id it
//! knows) and marked enqueued in the same transaction; if the process dies after the push and
//! before the commit, the next tick pushes them again under the same ids.

use apalis_core::{error::BoxDynError, task::data::Data};
use apalis_cron::Tick;
use coin_shared::{
    jobs::{DeliverWebhook, DistributionChunk, Job},
    queue::{JobId, JobQueue, count_enqueued},
};
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::runs::{observe, tick_time};
use crate::{context::JobContext, error::JobError};

/// Rows moved per transaction.
const BATCH: i64 = 500;
/// Batches per tick at most, so one tick stays short.
const MAX_BATCHES: usize = 20;

/// The cron handler.
pub async fn tick(tick: Tick, ctx: Data<JobContext>) -> Result<String, BoxDynError> {
    Ok(observe("relay", tick_time(&tick), run(&ctx.pool, &ctx.queue)).await)
}

/// Moves what is pending; returns how many rows of each kind.
pub async fn run(pool: &PgPool, queue: &JobQueue) -> Result<serde_json::Value, JobError> {
    let mut deliveries = 0;
    for _ in 0..MAX_BATCHES {
        let moved = relay_deliveries(pool, queue).await?;
        deliveries += moved;
        if moved < BATCH as usize {
            break;
        }
    }
    let chunks = relay_chunks(pool, queue).await?;
    Ok(json!({ "webhook_deliveries": deliveries, "distribution_chunks": chunks }))
}

async fn relay_deliveries(pool: &PgPool, queue: &JobQueue) -> Result<usize, JobError> {
    let mut tx = pool.begin().await?;
    let ids = sqlx::query_scalar!(
        "SELECT id FROM webhook_deliveries WHERE status = 'PENDING'
         ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        BATCH
    )
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let jobs: Vec<DeliverWebhook> = ids
        .iter()
        .map(|&delivery_id| DeliverWebhook { delivery_id })
        .collect();
    push(queue, &jobs, |j| j.delivery_id).await?;
    sqlx::query!(
        "UPDATE webhook_deliveries SET status = 'ENQUEUED', enqueued_at = now()
         WHERE id = ANY($1) AND status = 'PENDING'",
        &ids
    )
    .execute(&mut *tx)
    .await?;
    committed::<DeliverWebhook>(tx, ids.len()).await
}

async fn relay_chunks(pool: &PgPool, queue: &JobQueue) -> Result<usize, JobError> {
    let mut tx = pool.begin().await?;
    let jobs = sqlx::query_as!(
        DistributionChunk,
        "SELECT id AS chunk_id, period_id FROM distribution_chunks
         WHERE enqueued_at IS NULL AND applied_at IS NULL
         ORDER BY period_id, idx LIMIT $1 FOR UPDATE SKIP LOCKED",
        BATCH
    )
    .fetch_all(&mut *tx)
    .await?;
    if jobs.is_empty() {
        return Ok(0);
    }
    push(queue, &jobs, |j| j.chunk_id).await?;
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.chunk_id).collect();
    sqlx::query!(
        "UPDATE distribution_chunks SET enqueued_at = now() WHERE id = ANY($1)",
        &ids
    )
    .execute(&mut *tx)
    .await?;
    committed::<DistributionChunk>(tx, ids.len()).await
}

/// Pushes `jobs`, each under the id of its row, so a row pushed again adds nothing.
async fn push<J: Job>(
    queue: &JobQueue,
    jobs: &[J],
    row_id: impl Fn(&J) -> Uuid,
) -> Result<(), JobError> {
    let with_ids: Vec<(JobId, &J)> = jobs.iter().map(|j| (JobId(row_id(j)), j)).collect();
    queue
        .enqueue_batch_as(&with_ids)
        .await
        .map_err(|e| JobError::Transient(e.into()))
}

/// Commits a relay step (its rows marked enqueued) and only then counts its `n` jobs as
/// enqueued; returns `n`.
async fn committed<J: Job>(tx: Transaction<'_, Postgres>, n: usize) -> Result<usize, JobError> {
    tx.commit().await?;
    count_enqueued::<J>(n);
    Ok(n)
}
