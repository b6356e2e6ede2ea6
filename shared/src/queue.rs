//! The job queues: enqueue (single and batched, one round trip per 1,000 jobs), job status by
//! id, depths, and the dead set, on top of the project's own apalis backend (`coin-queue`, see
//! docs/adr/0001-queue-backend.md).
//!
//! Job ids are minted here (UUIDv7) or by the caller before the push, so the API can answer
//! `202` with the id; pushing an id the queue already knows adds nothing.

use std::{collections::HashMap, sync::Arc, time::Duration};

use coin_queue::{DeadJob, Depths, DoneRetention, JobState, QueueConfig, RedisQueue};

/// How a failed delivery ended (in [`FailedAttempt`]).
pub use coin_queue::AttemptOutcome;
/// What a handler returns when it stopped at a safe point because an operator cancelled its job.
pub use coin_queue::Cancelled;
use redis::{Client, aio::ConnectionManager, aio::ConnectionManagerConfig};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    config::{QueueSettings, RedisSettings},
    jobs::{ALL_QUEUES, DeliverWebhook, Job},
};

/// Webhook deliveries follow their own retry schedule (the worker's `WEBHOOK_*` settings),
/// enforced by their handler; the queue's own attempt limit is only a backstop above it.
pub const WEBHOOK_ATTEMPTS_BACKSTOP: u32 = 1_000;

/// Failures talking to the queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Redis could not be reached or did not answer in time: worth retrying later.
    #[error("the job queue (Redis) is unavailable: {0}")]
    Unavailable(#[from] redis::RedisError),
    /// The queue backend failed.
    #[error("the job queue failed: {0}")]
    Backend(#[from] coin_queue::QueueError),
    /// A payload could not be serialized (a bug, not bad input).
    #[error("could not encode the job payload: {0}")]
    Encode(#[from] serde_json::Error),
    /// The Redis URL is malformed.
    #[error("invalid REDIS_URL: {0}")]
    InvalidUrl(#[source] redis::RedisError),
    /// No queue has that name.
    #[error("unknown queue `{0}` (known: {known})", known = ALL_QUEUES.join(", "))]
    UnknownQueue(String),
}

impl QueueError {
    /// Whether a search cursor the caller sent is at fault (one no search handed out): the
    /// caller's mistake, not the queue's.
    pub fn is_invalid_cursor(&self) -> bool {
        matches!(
            self,
            QueueError::Backend(coin_queue::QueueError::InvalidCursor(_))
        )
    }
}

/// A job's id: a UUIDv7 minted at enqueue time, or derived from an idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct JobId(pub Uuid);

impl JobId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A snapshot of one queue, read by one script call (after a read of the worker names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueueDepth {
    /// Ready to run now: the ready list plus scheduled jobs already due.
    pub backlog: u64,
    /// In the ready list (cancelled entries included until a worker drops them).
    pub ready: u64,
    /// Scheduled for later (delayed, or waiting for a retry).
    pub scheduled: u64,
    /// Held by live workers (running or prefetched).
    pub inflight: u64,
    /// Held by workers presumed dead, about to be re-queued.
    pub orphaned: u64,
    /// Failed for good, waiting for an operator.
    pub dead: u64,
    /// Cancelled by operators, kept until deleted.
    pub cancelled: u64,
    /// Completed since the queue was created (a counter: rates come from its deltas).
    pub done: u64,
    /// Added by pushes since the queue was created (a counter).
    pub enqueued: u64,
    /// Workers with a fresh heartbeat on this queue.
    pub live_workers: u64,
    /// Age in seconds of the oldest job waiting to run (ready or due); 0 when none waits.
    pub latency_secs: f64,
    /// Jobs enqueued per second over about the last 10 s; `None` until two reads a second
    /// apart exist.
    pub enqueue_per_sec: Option<f64>,
    /// Jobs completed per second over the same window.
    pub completion_per_sec: Option<f64>,
    /// Workers fetch nothing from a paused queue; producers keep adding to it.
    pub paused: bool,
}

impl From<Depths> for QueueDepth {
    fn from(d: Depths) -> Self {
        Self {
            backlog: d.backlog(),
            ready: d.ready,
            scheduled: d.scheduled_future,
            inflight: d.inflight,
            orphaned: d.inflight_orphaned,
            dead: d.dead,
            cancelled: d.cancelled,
            done: d.done,
            enqueued: d.enqueued,
            live_workers: d.live_workers,
            latency_secs: d.latency().as_secs_f64(),
            enqueue_per_sec: d.enqueue_rate(),
            completion_per_sec: d.completion_rate(),
            paused: d.paused,
        }
    }
}

/// Where a job stands, as operators and clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobPhase {
    /// Waiting to run (ready or scheduled).
    Queued,
    /// Held by a worker.
    Running,
    /// Its last run failed; it will be retried (`retry_at`).
    Failed,
    /// Completed.
    Done,
    /// Failed for good, waiting for an operator.
    Dead,
    /// Cancelled by an operator: it will not run.
    Cancelled,
}

/// Every move a job can make, and nothing else: one table the tests and the docs read.
pub const JOB_TRANSITIONS: &[(JobPhase, JobPhase)] = &[
    (JobPhase::Queued, JobPhase::Running),
    (JobPhase::Running, JobPhase::Done),
    (JobPhase::Running, JobPhase::Failed),
    (JobPhase::Running, JobPhase::Dead),
    // A worker lost mid-job: its in-flight jobs go back to the queue.
    (JobPhase::Running, JobPhase::Queued),
    (JobPhase::Failed, JobPhase::Queued),
    // Retries exhausted while waiting (the attempt limit is checked at fetch).
    (JobPhase::Failed, JobPhase::Dead),
    // An operator's replay.
    (JobPhase::Dead, JobPhase::Queued),
    // An operator's cancel: of a waiting, retrying or dead job, or of a running one whose
    // handler stops at a safe point.
    (JobPhase::Queued, JobPhase::Cancelled),
    (JobPhase::Failed, JobPhase::Cancelled),
    (JobPhase::Dead, JobPhase::Cancelled),
    (JobPhase::Running, JobPhase::Cancelled),
];

impl JobPhase {
    /// Whether a job in this phase can move to `next`.
    pub fn can_become(self, next: JobPhase) -> bool {
        JOB_TRANSITIONS.contains(&(self, next))
    }

    /// Whether the job will not run again unless an operator acts.
    pub fn is_final(self) -> bool {
        matches!(self, JobPhase::Done | JobPhase::Dead | JobPhase::Cancelled)
    }
}

impl From<JobState> for JobPhase {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Queued => JobPhase::Queued,
            JobState::Running => JobPhase::Running,
            JobState::Retrying => JobPhase::Failed,
            JobState::Done => JobPhase::Done,
            JobState::Dead => JobPhase::Dead,
            JobState::Cancelled => JobPhase::Cancelled,
        }
    }
}

/// Where a job stands, as `GET /v1/jobs/{id}` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobStatus {
    /// The job's id.
    pub job_id: JobId,
    /// The queue that holds it.
    pub queue: String,
    /// `queued`, `running`, `failed` (will be retried), `done`, `dead` or `cancelled`.
    pub state: JobPhase,
    /// Deliveries so far.
    pub attempts: u32,
    /// Why the last run failed, when the job is `failed` or `dead`.
    pub last_error: Option<String>,
    /// What the handler returned, when the job is `done`.
    pub result: Option<String>,
    /// When a `failed` job runs again.
    pub retry_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When its current delivery started, while it runs.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When an operator last replayed it from the dead set.
    pub replayed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it finished, died or was cancelled.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// An operator asked to cancel it while it runs; it stops at its next safe point.
    pub cancel_requested: bool,
    /// What a long job (a bulk action) reported of its progress.
    #[schema(value_type = Option<Object>)]
    pub progress: Option<serde_json::Value>,
    /// When it was enqueued (kept after it finished).
    pub enqueued_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its failed deliveries, oldest first: the last 20, also those before a replay.
    pub attempt_history: Vec<FailedAttempt>,
}

/// One failed delivery of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FailedAttempt {
    /// Which delivery it was (1 for the first; counting restarts after a replay).
    pub attempt: u32,
    /// When the delivery started.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it failed (for a lost delivery: when the loss was noticed).
    pub failed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `retried` (a transient failure, run again later), `gave_up` (the job went dead) or
    /// `lost` (its worker vanished; the job was re-queued).
    pub outcome: AttemptOutcome,
    /// The error, or why the delivery was lost.
    pub error: String,
}

impl From<coin_queue::FailedAttempt> for FailedAttempt {
    fn from(a: coin_queue::FailedAttempt) -> Self {
        Self {
            attempt: a.attempt,
            started_at: a
                .started_at_ms
                .and_then(chrono::DateTime::from_timestamp_millis),
            failed_at: chrono::DateTime::from_timestamp_millis(a.failed_at_ms),
            outcome: a.outcome,
            error: a.error,
        }
    }
}

/// A job in the dead set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeadEntry {
    /// The job's id (kept on replay).
    pub job_id: String,
    /// Its queue.
    pub queue: String,
    /// When it died.
    pub died_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why.
    pub last_error: Option<String>,
}

/// Handle to every job queue; cheap to clone (one multiplexed connection underneath).
#[derive(Clone)]
pub struct JobQueue {
    client: Client,
    conn: ConnectionManager,
    pub(crate) namespace: String,
    /// Shared, so cloning the handle (every request clones the API state) copies no map.
    queues: Arc<HashMap<&'static str, RedisQueue<()>>>,
}

/// Counts `jobs` jobs a producer pushed to `J`'s queue (`coin_jobs_enqueued_total`).
pub fn count_enqueued<J: Job>(jobs: usize) {
    metrics::counter!(crate::metric_names::JOBS_ENQUEUED_TOTAL, "queue" => J::QUEUE)
        .increment(jobs as u64);
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl JobQueue {
    /// Prepares the queues with default retry settings (producers and readers).
    pub fn new(settings: &RedisSettings) -> Result<Self, QueueError> {
        Self::with_settings(settings, &QueueSettings::default())
    }

    /// Prepares the queues without connecting: the first command connects, so a process can
    /// start while Redis is down and recover by itself when it returns.
    pub fn with_settings(redis: &RedisSettings, queue: &QueueSettings) -> Result<Self, QueueError> {
        let client = Client::open(redis.url()).map_err(QueueError::InvalidUrl)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_millis(redis.redis_response_timeout_ms)))
            .set_connection_timeout(Some(Duration::from_millis(redis.redis_connect_timeout_ms)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let queues = ALL_QUEUES
            .iter()
            .map(|name| {
                let cfg = queue_config(name, &redis.queue_namespace, redis, queue);
                (
                    *name,
                    RedisQueue::with_connection(client.clone(), conn.clone(), cfg),
                )
            })
            .collect();
        Ok(Self {
            client,
            conn,
            namespace: redis.queue_namespace.clone(),
            queues: Arc::new(queues),
        })
    }

    pub(crate) fn handle(&self, queue: &str) -> Result<&RedisQueue<()>, QueueError> {
        self.queues
            .get(queue)
            .ok_or_else(|| QueueError::UnknownQueue(queue.to_owned()))
    }

    /// The apalis backend of job type `J`, for workers.
    pub fn storage<J: Job>(&self) -> Result<RedisQueue<J>, QueueError> {
        Ok(self.handle(J::QUEUE)?.typed())
    }

    /// Checks that Redis answers.
    pub async fn ping(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    /// Enqueues one job and returns its id.
    pub async fn enqueue<J: Job>(&self, job: &J) -> Result<JobId, QueueError> {
        let id = JobId::new();
        self.enqueue_as(id, job).await?;
        Ok(id)
    }

    /// Enqueues one job under an id chosen by the caller (e.g. derived from an idempotency
    /// key). Pushing an id the queue already knows adds nothing. Concurrent calls for one
    /// queue share a script call (coin-queue's producer-side group commit); each returns once
    /// its job is in Redis.
    pub async fn enqueue_as<J: Job>(&self, id: JobId, job: &J) -> Result<(), QueueError> {
        let queue: RedisQueue<J> = self.handle(J::QUEUE)?.typed();
        queue.enqueue_with_id(&id.to_string(), job, None).await?;
        Ok(())
    }

    /// Enqueues many jobs of one type, 1,000 per round trip; ids follow the input order.
    pub async fn enqueue_batch<J: Job>(&self, jobs: &[J]) -> Result<Vec<JobId>, QueueError> {
        let with_ids: Vec<(JobId, &J)> = jobs.iter().map(|job| (JobId::new(), job)).collect();
        self.enqueue_batch_as(&with_ids).await?;
        Ok(with_ids.into_iter().map(|(id, _)| id).collect())
    }

    /// Enqueues many jobs of one type under caller-chosen ids, 1,000 per round trip.
    pub async fn enqueue_batch_as<J: Job>(&self, jobs: &[(JobId, &J)]) -> Result<(), QueueError> {
        let queue: RedisQueue<J> = self.handle(J::QUEUE)?.typed();
        let with_ids: Vec<(String, &J)> = jobs
            .iter()
            .map(|(id, job)| (id.to_string(), *job))
            .collect();
        queue.enqueue_bulk_with_ids(&with_ids).await?;
        Ok(())
    }

    /// Script calls and jobs of the coalesced single pushes so far, per queue (`jobs / calls`
    /// is how many jobs one call carried on average).
    pub fn push_stats(&self) -> Vec<(&'static str, coin_queue::PushStats)> {
        ALL_QUEUES
            .iter()
            .filter_map(|name| Some((*name, self.queues.get(name)?.push_stats())))
            .collect()
    }

    /// Depths of one queue, in one script call (two round trips).
    pub async fn depth(&self, queue: &str) -> Result<QueueDepth, QueueError> {
        Ok(self.handle(queue)?.depths().await?.into())
    }

    /// Finds a job in any of `queues` and reports its state; `None` if no queue knows it.
    pub async fn status(
        &self,
        queues: &[&str],
        job_id: JobId,
    ) -> Result<Option<JobStatus>, QueueError> {
        let id = job_id.to_string();
        for queue in queues {
            let Some(status) = self.handle(queue)?.status(&id).await? else {
                continue;
            };
            let state = JobPhase::from(status.state);
            let result = status.result.as_deref().map(clean_result);
            return Ok(Some(JobStatus {
                job_id,
                queue: (*queue).to_owned(),
                state,
                attempts: status.attempts,
                last_error: status.last_error,
                result,
                retry_at: (state == JobPhase::Failed)
                    .then_some(status.run_at_ms)
                    .flatten()
                    .and_then(chrono::DateTime::from_timestamp_millis),
                started_at: status
                    .started_at_ms
                    .and_then(chrono::DateTime::from_timestamp_millis),
                replayed_at: status
                    .replayed_at_ms
                    .and_then(chrono::DateTime::from_timestamp_millis),
                finished_at: status
                    .finished_at_ms
                    .and_then(chrono::DateTime::from_timestamp_millis),
                cancel_requested: status.cancel_requested,
                progress: status
                    .progress
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p).ok()),
                enqueued_at: status
                    .enqueued_at_ms
                    .and_then(chrono::DateTime::from_timestamp_millis),
                attempt_history: status
                    .attempt_history
                    .into_iter()
                    .map(FailedAttempt::from)
                    .collect(),
            }));
        }
        Ok(None)
    }

    /// Dead jobs of one queue, newest first.
    pub async fn dead(
        &self,
        queue: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<DeadEntry>, QueueError> {
        let jobs: Vec<DeadJob> = self.handle(queue)?.dead(offset, limit).await?;
        Ok(jobs
            .into_iter()
            .map(|j| DeadEntry {
                job_id: j.id,
                queue: queue.to_owned(),
                died_at: chrono::DateTime::from_timestamp_millis(j.died_at_ms),
                last_error: j.last_error,
            })
            .collect())
    }

    /// Puts dead jobs back in their queue under the same ids; returns how many were dead.
    pub async fn replay(&self, queue: &str, ids: &[String]) -> Result<u64, QueueError> {
        Ok(self.handle(queue)?.replay(ids).await?)
    }

    /// Replays one dead job by id, whichever queue holds it; `None` if no queue has it dead.
    pub async fn replay_by_id(&self, job_id: &str) -> Result<Option<&'static str>, QueueError> {
        for queue in ALL_QUEUES {
            if self.replay(queue, &[job_id.to_owned()]).await? > 0 {
                return Ok(Some(queue));
            }
        }
        Ok(None)
    }

    /// Puts every dead job of a queue back; returns how many.
    pub async fn replay_all(&self, queue: &str) -> Result<u64, QueueError> {
        Ok(self.handle(queue)?.replay_all().await?)
    }

    /// The raw connection, for callers that keep their own keys (rate limits, idempotency).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The Redis client, for callers that need a dedicated connection.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Deletes every key of this namespace (tests and local resets only).
    pub async fn purge_namespace(&self) -> Result<u64, QueueError> {
        let mut deleted = 0;
        for queue in self.queues.values() {
            deleted += queue.purge().await?;
        }
        let mut conn = self.conn.clone();
        let mut keys: Vec<String> = Vec::new();
        for pattern in [
            format!("{}:*", self.namespace),
            format!("{{{}:*", self.namespace),
        ] {
            let mut iter =
                redis::AsyncCommands::scan_match::<_, String>(&mut conn, &pattern).await?;
            while let Some(key) = iter.next_item().await.and_then(Result::ok) {
                keys.push(key);
            }
        }
        for chunk in keys.chunks(500) {
            deleted += redis::AsyncCommands::del::<_, u64>(&mut conn, chunk).await?;
        }
        Ok(deleted)
    }
}

/// The backend configuration of one queue.
fn queue_config(
    name: &str,
    namespace: &str,
    redis: &RedisSettings,
    settings: &QueueSettings,
) -> QueueConfig {
    let orphan_after = Duration::from_secs(settings.orphan_recovery_secs);
    let max_attempts = if name == DeliverWebhook::QUEUE {
        WEBHOOK_ATTEMPTS_BACKSTOP
    } else {
        settings.job_max_attempts
    };
    QueueConfig::new(name)
        .namespace(namespace)
        .max_attempts(max_attempts)
        .backoff(
            Duration::from_millis(settings.job_backoff_base_ms),
            Duration::from_secs(settings.job_backoff_max_secs),
        )
        .liveness(orphan_after / 6, orphan_after)
        .prefetch(usize::try_from(settings.worker_prefetch).unwrap_or(256))
        .done_retention(match settings.job_result_ttl_secs {
            0 => DoneRetention::Drop,
            secs => DoneRetention::KeepMeta(Duration::from_secs(secs)),
        })
        .response_timeout(Duration::from_millis(redis.redis_response_timeout_ms))
}

/// Handlers return short texts; the backend stores them as JSON strings.
fn clean_result(raw: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::String(text)) => text,
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::JobPhase::*;

    #[test]
    fn jobs_move_only_along_the_table() {
        let cases = [
            (Queued, Running, true),
            (Running, Done, true),
            (Running, Failed, true),
            (Running, Dead, true),
            (Running, Queued, true),
            (Failed, Queued, true),
            (Failed, Dead, true),
            (Dead, Queued, true),
            (Queued, Cancelled, true),
            (Failed, Cancelled, true),
            (Dead, Cancelled, true),
            (Running, Cancelled, true),
            (Cancelled, Queued, false),
            (Cancelled, Running, false),
            (Done, Cancelled, false),
            (Done, Queued, false),
            (Done, Running, false),
            (Queued, Done, false),
            (Dead, Running, false),
            (Failed, Done, false),
        ];
        for (from, to, allowed) in cases {
            assert_eq!(from.can_become(to), allowed, "{from:?} → {to:?}");
        }
        assert!(Done.is_final() && Dead.is_final() && Cancelled.is_final() && !Failed.is_final());
    }

    #[test]
    fn phases_serialize_as_the_documented_names() {
        let names: Vec<String> = [Queued, Running, Failed, Done, Dead, Cancelled]
            .iter()
            .map(|p| serde_json::to_string(p).expect("json"))
            .collect();
        assert_eq!(
            names,
            [
                r#""queued""#,
                r#""running""#,
                r#""failed""#,
                r#""done""#,
                r#""dead""#,
                r#""cancelled""#
            ]
        );
    }
}
