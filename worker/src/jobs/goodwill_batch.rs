//! Group commit for `RecordGoodwill`: handlers hand their action to one batcher per process and
//! complete only after the transaction holding it has committed, so a job is never acknowledged
//! before its effect is durable, yet one transaction carries hundreds of actions.
//!
//! A batch is written with four set-based statements: users, wallets (both `ON CONFLICT DO
//! NOTHING`), actions (`ON CONFLICT (id) DO NOTHING RETURNING` — only the first delivery of an
//! action comes back), then ledger entries, one aggregated balance update per wallet and the
//! audit rows and `goodwill.recorded` webhook outbox rows for exactly the returned actions. Wallet rows are locked in `user_id` order, so
//! concurrent batches (other processes) cannot deadlock on hot wallets.
//!
//! If a batch fails with a data error (one bad row), its jobs are applied one by one so the bad
//! one fails alone; a transient failure (Postgres down, serialization) fails the whole batch and
//! every job is retried by the queue.

use std::{collections::HashSet, sync::Arc, time::Duration};

use coin_shared::jobs::RecordGoodwill;
use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::{Applied, record_goodwill};
use crate::error::JobError;

/// How the batcher groups work.
#[derive(Debug, Clone, Copy)]
pub struct BatchSettings {
    /// Most actions in one transaction.
    pub max_batch: usize,
    /// How long the batcher waits for more actions after the first of a batch arrives.
    pub linger: Duration,
    /// Batches written at once (each on its own connection).
    pub parallel: usize,
    /// How long a batch keeps retrying a transient database failure (connection lost,
    /// serialization conflict) before its jobs go back to the queue's own backoff. A short
    /// Postgres outage then costs no attempt at all.
    pub patience: Duration,
}

type Reply = oneshot::Sender<Result<Applied, JobError>>;

/// Handle to the batcher task; cheap to clone.
#[derive(Debug, Clone)]
pub struct GoodwillBatcher {
    tx: mpsc::Sender<(RecordGoodwill, Reply)>,
}

impl GoodwillBatcher {
    /// Starts the batcher task on the current runtime.
    pub fn start(pool: PgPool, settings: BatchSettings) -> Self {
        let (tx, rx) = mpsc::channel(settings.max_batch.max(1) * 4);
        tokio::spawn(run(pool, settings, rx));
        Self { tx }
    }

    /// Applies one action as part of the next batch; resolves once that batch committed.
    pub async fn submit(&self, job: RecordGoodwill) -> Result<Applied, JobError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((job, reply))
            .await
            .map_err(|_| JobError::Transient(anyhow::anyhow!("the goodwill batcher stopped")))?;
        answer
            .await
            .map_err(|_| JobError::Transient(anyhow::anyhow!("the goodwill batch was dropped")))?
    }
}

async fn run(
    pool: PgPool,
    settings: BatchSettings,
    mut rx: mpsc::Receiver<(RecordGoodwill, Reply)>,
) {
    let permits = Arc::new(Semaphore::new(settings.parallel.max(1)));
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + settings.linger;
        while batch.len() < settings.max_batch {
            // Take what is already waiting without delay, then linger briefly for more.
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(item)) => batch.push(item),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let pool = pool.clone();
        tokio::spawn(async move {
            flush(&pool, batch, settings.patience).await;
            drop(permit);
        });
    }
}

async fn flush(pool: &PgPool, batch: Vec<(RecordGoodwill, Reply)>, patience: Duration) {
    metrics::histogram!(coin_shared::metric_names::WORKER_BATCH_SIZE).record(batch.len() as f64);
    // Rule violations fail alone, at once; the rest go to the database together.
    let mut valid = Vec::with_capacity(batch.len());
    for (job, reply) in batch {
        match record_goodwill::check(&job) {
            Ok(()) => valid.push((job, reply)),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }
    if valid.is_empty() {
        return;
    }
    let jobs: Vec<&RecordGoodwill> = valid.iter().map(|(job, _)| job).collect();
    match write_patiently(pool, &jobs, patience).await {
        Ok(inserted) => {
            let mut answered: HashSet<Uuid> = HashSet::new();
            for (job, reply) in valid {
                // The same action twice in one batch: the first copy recorded it.
                let applied = if inserted.contains(&job.action_id) && answered.insert(job.action_id)
                {
                    Applied::Done
                } else {
                    Applied::AlreadyApplied
                };
                let _ = reply.send(Ok(applied));
            }
        }
        Err(JobError::Permanent(reason)) => {
            tracing::warn!(batch = valid.len(), %reason, "batch refused; applying its actions one by one");
            for (job, reply) in valid {
                let _ = reply.send(record_goodwill::apply(pool, &job).await);
            }
        }
        Err(e) => {
            // Transient (the batch never states a delay of its own): every job is retried.
            let reason = match e {
                JobError::Transient(e) => format!("{e:#}"),
                other => other.to_string(),
            };
            for (_, reply) in valid {
                let _ = reply.send(Err(JobError::Transient(anyhow::anyhow!(reason.clone()))));
            }
        }
    }
}

/// Writes the batch, retrying transient failures with backoff for up to `patience`.
async fn write_patiently(
    pool: &PgPool,
    jobs: &[&RecordGoodwill],
    patience: Duration,
) -> Result<HashSet<Uuid>, JobError> {
    let give_up = tokio::time::Instant::now() + patience;
    let mut pause = Duration::from_millis(100);
    loop {
        match write(pool, jobs).await {
            Err(JobError::Transient(e)) if tokio::time::Instant::now() + pause < give_up => {
                tracing::warn!(batch = jobs.len(), error = %e, retry_in_ms = pause.as_millis() as u64,
                    "goodwill batch failed transiently; retrying");
                metrics::counter!(coin_shared::metric_names::WORKER_BATCH_RETRIES_TOTAL)
                    .increment(1);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}

/// Writes the batch in one transaction; returns the ids of actions recorded for the first time.
async fn write(pool: &PgPool, jobs: &[&RecordGoodwill]) -> Result<HashSet<Uuid>, JobError> {
    let mut users: Vec<Uuid> = jobs.iter().map(|j| j.user_id).collect();
    users.sort_unstable();
    users.dedup();

    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO users (id) SELECT unnest($1::uuid[]) ON CONFLICT (id) DO NOTHING",
        &users
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO wallets (user_id) SELECT unnest($1::uuid[]) ON CONFLICT (user_id) DO NOTHING",
        &users
    )
    .execute(&mut *tx)
    .await?;
    // Lock the batch's wallets in one order before touching balances (no deadlocks across
    // processes whose batches share hot wallets). The rows themselves are not needed.
    sqlx::query!(
        "SELECT 1 AS locked FROM wallets WHERE user_id = ANY($1) ORDER BY user_id FOR UPDATE",
        &users
    )
    .fetch_all(&mut *tx)
    .await?;

    let ids: Vec<Uuid> = jobs.iter().map(|j| j.action_id).collect();
    let performers: Vec<Uuid> = jobs.iter().map(|j| j.user_id).collect();
    let types: Vec<&str> = jobs.iter().map(|j| j.action_type.as_str()).collect();
    let descriptions: Vec<&str> = jobs.iter().map(|j| j.description.as_str()).collect();
    let loves: Vec<i32> = jobs.iter().map(|j| j.loves_value).collect();
    let contexts: Vec<sqlx::types::Json<&serde_json::Map<String, serde_json::Value>>> =
        jobs.iter().map(|j| sqlx::types::Json(&j.context)).collect();
    let occurred: Vec<chrono::DateTime<chrono::Utc>> = jobs.iter().map(|j| j.occurred_at).collect();
    let requesters: Vec<Uuid> = jobs.iter().map(|j| j.requested_by).collect();

    let inserted = sqlx::query_scalar!(
        r#"WITH input AS (
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[],
                                  $6::jsonb[], $7::timestamptz[], $8::uuid[])
                 AS t(id, user_id, action_type, description, loves, ctx, occurred_at, requested_by)
         ),
         actions AS (
             INSERT INTO goodwill_actions
                 (id, performer_user_id, action_type, description, loves_value, contextual_data,
                  status, occurred_at, processed_at)
             SELECT DISTINCT ON (id) id, user_id, action_type, description, loves, ctx,
                    'VERIFIED', occurred_at, now()
             FROM input
             ON CONFLICT (id) DO NOTHING
             RETURNING id, performer_user_id, loves_value, action_type
         ),
         ledger AS (
             INSERT INTO ledger_entries (wallet_id, amount, kind, reference_id, description)
             SELECT w.id, a.loves_value, 'GOODWILL', a.id, a.action_type
             FROM actions a JOIN wallets w ON w.user_id = a.performer_user_id
         ),
         balances AS (
             UPDATE wallets w SET balance = w.balance + s.total
             FROM (SELECT performer_user_id, sum(loves_value) AS total
                   FROM actions GROUP BY performer_user_id) s
             WHERE w.user_id = s.performer_user_id
         ),
         audit AS (
             INSERT INTO audit_log (action_type, actor_user_id, subject_type, subject_id, details)
             SELECT 'GOODWILL_RECORDED', i.requested_by, 'goodwill_action', a.id,
                    jsonb_build_object('user_id', a.performer_user_id,
                                       'action_type', a.action_type,
                                       'loves_value', a.loves_value)
             FROM actions a
             JOIN (SELECT DISTINCT ON (id) id, requested_by FROM input) i ON i.id = a.id
         ),
         -- The webhook outbox, in this same transaction (see jobs::outbox).
         hooks AS (
             INSERT INTO webhook_deliveries (endpoint_id, event_type, payload)
             SELECT e.id, 'goodwill.recorded',
                    jsonb_build_object('type', 'goodwill.recorded', 'timestamp', now(),
                        'data', jsonb_build_object('action_id', a.id,
                                                   'user_id', a.performer_user_id,
                                                   'action_type', a.action_type,
                                                   'loves_value', a.loves_value))
             FROM actions a
             CROSS JOIN webhook_endpoints e
             WHERE e.enabled AND 'goodwill.recorded' = ANY (e.event_types)
         )
         SELECT id AS "id!" FROM actions"#,
        &ids,
        &performers,
        &types as &[&str],
        &descriptions as &[&str],
        &loves,
        // Each context map as JSON, without copying it into a `serde_json::Value`.
        &contexts as _,
        &occurred,
        &requesters
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted.into_iter().collect())
}
