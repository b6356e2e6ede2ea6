//! The Redis job queues: enqueue (single and batched, one round trip each), job status by id and
//! queue depths, on top of apalis-redis' key layout so apalis workers consume what we push.
//!
//! Job ids are minted here (UUIDv7) before the push, so the API can answer `202` with the id.

use std::time::Duration;

use apalis_core::task::{builder::TaskBuilder, task_id::TaskId};
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use redis::{AsyncCommands, Client, aio::ConnectionManagerConfig};
use serde::Serialize;
use uuid::Uuid;

use crate::{config::RedisSettings, jobs::Job};

/// Failures talking to the queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Redis could not be reached or did not answer in time: worth retrying later.
    #[error("the job queue (Redis) is unavailable: {0}")]
    Unavailable(#[from] redis::RedisError),
    /// The queue backend refused the operation.
    #[error("the job queue backend failed: {0}")]
    Backend(#[from] apalis_redis::Error),
    /// A payload could not be serialized (a bug, not bad input).
    #[error("could not encode the job payload: {0}")]
    Encode(#[from] serde_json::Error),
    /// The Redis URL is malformed.
    #[error("invalid REDIS_URL: {0}")]
    InvalidUrl(#[source] redis::RedisError),
}

/// A job's id: a UUIDv7 minted at enqueue time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

/// A snapshot of one queue, read in one pipelined round trip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    /// Ready to run now: the active list plus scheduled jobs already due.
    pub backlog: u64,
    /// Scheduled for later (delayed or waiting for a retry).
    pub scheduled: u64,
    /// Failed for good, waiting for an operator.
    pub dead: u64,
    /// Completed.
    pub done: u64,
}

/// Where a job stands, as `GET /v1/jobs/{id}` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    /// The job's id.
    pub job_id: JobId,
    /// The queue that holds it.
    pub queue: String,
    /// `queued`, `running`, `done`, `failed` (will be retried) or `dead`.
    pub state: &'static str,
    /// Runs so far.
    pub attempts: u32,
    /// The handler's last result or error text, if any.
    pub result: Option<String>,
}

/// Handle to the job queues; cheap to clone (one multiplexed connection underneath).
#[derive(Clone)]
pub struct JobQueue {
    conn: ConnectionManager,
    namespace: String,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl JobQueue {
    /// Prepares the queue without connecting: the first command connects, so a process can start
    /// while Redis is down and recover by itself when it returns.
    pub fn new(settings: &RedisSettings) -> Result<Self, QueueError> {
        let client = Client::open(settings.url()).map_err(QueueError::InvalidUrl)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_millis(
                settings.redis_response_timeout_ms,
            )))
            .set_connection_timeout(Some(Duration::from_millis(
                settings.redis_connect_timeout_ms,
            )))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            conn,
            namespace: settings.queue_namespace.clone(),
        })
    }

    /// The namespaced queue name, e.g. `coin:goodwill`.
    pub fn queue_name(&self, queue: &str) -> String {
        if self.namespace.is_empty() {
            queue.to_owned()
        } else {
            format!("{}:{queue}", self.namespace)
        }
    }

    /// apalis-redis configuration of one queue.
    pub fn config_for(&self, queue: &str) -> Config {
        Config::default().queue(self.queue_name(queue))
    }

    /// An apalis storage of job type `J`, for workers.
    pub fn storage<J: Job>(&self) -> RedisStorage<J> {
        RedisStorage::new(self.conn.clone()).with_config(self.config_for(J::QUEUE))
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
        self.push(J::QUEUE, vec![(id, serde_json::to_vec(job)?)])
            .await?;
        Ok(id)
    }

    /// Enqueues many jobs of one type in a single Redis round trip; ids follow the input order.
    pub async fn enqueue_batch<J: Job>(&self, jobs: &[J]) -> Result<Vec<JobId>, QueueError> {
        let mut encoded = Vec::with_capacity(jobs.len());
        for job in jobs {
            encoded.push((JobId::new(), serde_json::to_vec(job)?));
        }
        let ids = encoded.iter().map(|(id, _)| *id).collect();
        self.push(J::QUEUE, encoded).await?;
        Ok(ids)
    }

    async fn push(&self, queue: &str, jobs: Vec<(JobId, Vec<u8>)>) -> Result<(), QueueError> {
        let tasks: Vec<_> = jobs
            .into_iter()
            .map(|(id, bytes)| {
                TaskBuilder::new(bytes)
                    .task_id(TaskId::from_string(id.to_string()))
                    .build()
            })
            .collect();
        let mut conn = self.conn.clone();
        apalis_redis::queries::push_tasks(&mut conn, &self.config_for(queue), &tasks).await?;
        Ok(())
    }

    /// Backlog, scheduled, dead and done counts of one queue, in one pipelined round trip.
    pub async fn depth(&self, queue: &str) -> Result<QueueDepth, QueueError> {
        let config = self.config_for(queue);
        let now = chrono::Utc::now().timestamp();
        let mut conn = self.conn.clone();
        let (active, due, later, dead, done): (u64, u64, u64, u64, u64) = redis::pipe()
            .llen(config.active_jobs_list())
            .zcount(config.scheduled_jobs_set(), "-inf", now)
            .zcount(config.scheduled_jobs_set(), format!("({now}"), "+inf")
            .scard(config.dead_jobs_set())
            .scard(config.done_jobs_set())
            .query_async(&mut conn)
            .await?;
        Ok(QueueDepth {
            backlog: active + due,
            scheduled: later,
            dead,
            done,
        })
    }

    /// Finds a job in any of `queues` and reports its state; `None` if no queue knows it.
    pub async fn status(
        &self,
        queues: &[&str],
        job_id: JobId,
    ) -> Result<Option<JobStatus>, QueueError> {
        let mut conn = self.conn.clone();
        for queue in queues {
            let config = self.config_for(queue);
            let meta_key = format!("{}:{job_id}", config.job_meta_hash());
            let id = job_id.to_string();
            let (meta, is_dead, retry_at): (
                std::collections::HashMap<String, String>,
                bool,
                Option<f64>,
            ) = redis::pipe()
                .hgetall(&meta_key)
                .sismember(config.dead_jobs_set(), &id)
                .zscore(config.scheduled_jobs_set(), &id)
                .query_async(&mut conn)
                .await?;
            if meta.is_empty() {
                continue;
            }
            let raw = meta.get("status").map(String::as_str).unwrap_or("Pending");
            let state = match (raw, is_dead, retry_at.is_some()) {
                (_, true, _) | ("Killed", _, _) => "dead",
                ("Done", _, _) => "done",
                ("Running" | "Queued", _, _) => "running",
                ("Failed", _, true) => "failed",
                ("Failed", _, false) => "dead",
                _ => "queued",
            };
            return Ok(Some(JobStatus {
                job_id,
                queue: (*queue).to_owned(),
                state,
                attempts: meta
                    .get("attempts")
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(0),
                result: meta.get("result").filter(|r| !r.is_empty()).cloned(),
            }));
        }
        Ok(None)
    }

    /// The raw connection, for callers that read further keys (the controller).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Deletes every key of this namespace (tests and local resets only).
    pub async fn purge_namespace(&self) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}:*", self.namespace);
        let keys: Vec<String> = {
            let mut iter = conn.scan_match::<_, String>(&pattern).await?;
            let mut keys = Vec::new();
            while let Some(key) = futures_next(&mut iter).await {
                keys.push(key);
            }
            keys
        };
        let mut deleted = 0;
        for chunk in keys.chunks(500) {
            deleted += conn.del::<_, u64>(chunk).await?;
        }
        Ok(deleted)
    }
}

async fn futures_next<T>(iter: &mut redis::AsyncIter<'_, T>) -> Option<T>
where
    T: redis::FromRedisValue + Unpin + Send,
{
    iter.next_item().await.and_then(Result::ok)
}
