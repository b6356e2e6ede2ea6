//! Worker processes as operators see them. Each process announces itself — host, pid, start,
//! version, concurrency per queue — every few seconds in `{ns:processes}` (a ZSET of last
//! announcements and a HASH of what was announced, under one hash tag); readers drop the
//! entries older than [`PROCESS_TTL`], and every announcement prunes them. The queues'
//! heartbeats and in-flight lists say how each process is doing.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    jobs::ALL_QUEUES,
    queue::{JobQueue, QueueError},
};

/// An announcement older than this is of a process that is gone.
pub const PROCESS_TTL: Duration = Duration::from_secs(60);

/// How often a worker announces itself.
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(10);

/// A worker process as it announces itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerProcess {
    /// Its worker id (its workers are `<worker id>-<queue>` in each queue's workers set).
    pub worker_id: String,
    /// The host it runs on (`HOSTNAME`: the pod's name in Kubernetes).
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its `coin-worker` version.
    pub version: String,
    /// Jobs of each queue it runs at once.
    pub concurrency: BTreeMap<String, usize>,
}

/// One queue of a worker, as its heartbeat and in-flight list show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerOnQueue {
    /// The queue.
    pub queue: &'static str,
    /// Seconds since its last heartbeat on this queue.
    pub heartbeat_age_secs: f64,
    /// Jobs of this queue it holds (running or prefetched).
    pub inflight: u64,
}

/// A worker as the console lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerView {
    /// Its worker id.
    pub worker_id: String,
    /// What it announced within [`PROCESS_TTL`]; `None` for a worker that heartbeats without
    /// announcing (an in-process worker, another version).
    pub process: Option<WorkerProcess>,
    /// The queues it heartbeats on.
    pub queues: Vec<WorkerOnQueue>,
}

impl WorkerView {
    /// Seconds since its freshest heartbeat; `None` before its first.
    pub fn heartbeat_age_secs(&self) -> Option<f64> {
        self.queues
            .iter()
            .map(|q| q.heartbeat_age_secs)
            .reduce(f64::min)
    }

    /// Jobs it holds, all queues.
    pub fn inflight(&self) -> u64 {
        self.queues.iter().map(|q| q.inflight).sum()
    }
}

impl JobQueue {
    fn process_keys(&self) -> (String, String) {
        let tag = format!("{{{}:processes}}", self.namespace);
        (format!("{tag}:seen"), format!("{tag}:info"))
    }

    /// Announces (or refreshes) `process`, and forgets the processes gone for [`PROCESS_TTL`].
    pub async fn announce(&self, process: &WorkerProcess) -> Result<(), QueueError> {
        let (seen, info) = self.process_keys();
        let now = Utc::now().timestamp_millis();
        let cutoff = now - PROCESS_TTL.as_millis() as i64;
        let mut conn = self.connection();
        let gone: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(&seen)
            .arg("-inf")
            .arg(cutoff)
            .query_async(&mut conn)
            .await?;
        let mut pipe = redis::pipe();
        pipe.atomic().zadd(&seen, &process.worker_id, now).hset(
            &info,
            &process.worker_id,
            serde_json::to_string(process)?,
        );
        if !gone.is_empty() {
            pipe.zrem(&seen, &gone).hdel(&info, &gone);
        }
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    /// Forgets `worker_id` (a clean stop).
    pub async fn retire(&self, worker_id: &str) -> Result<(), QueueError> {
        let (seen, info) = self.process_keys();
        let mut conn = self.connection();
        redis::pipe()
            .atomic()
            .zrem(&seen, worker_id)
            .hdel(&info, worker_id)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    /// The processes announced within [`PROCESS_TTL`].
    pub async fn processes(&self) -> Result<Vec<WorkerProcess>, QueueError> {
        let (seen, info) = self.process_keys();
        let cutoff = Utc::now().timestamp_millis() - PROCESS_TTL.as_millis() as i64;
        let mut conn = self.connection();
        let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(&seen)
            .arg(cutoff)
            .arg("+inf")
            .query_async(&mut conn)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&info)
            .arg(&ids)
            .query_async(&mut conn)
            .await?;
        // An entry that does not parse (another version's) is left out rather than failing
        // the whole list.
        Ok(raw
            .into_iter()
            .flatten()
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect())
    }

    /// Every worker: the live processes with their heartbeats, and the workers that heartbeat
    /// on a queue without having announced themselves; freshest first.
    pub async fn workers(&self) -> Result<Vec<WorkerView>, QueueError> {
        let now = Utc::now().timestamp_millis();
        let mut views: BTreeMap<String, WorkerView> = self
            .processes()
            .await?
            .into_iter()
            .map(|p| {
                let view = WorkerView {
                    worker_id: p.worker_id.clone(),
                    process: Some(p),
                    queues: Vec::new(),
                };
                (view.worker_id.clone(), view)
            })
            .collect();
        for queue in ALL_QUEUES {
            for worker in self.handle(queue)?.workers().await? {
                let suffix = format!("-{queue}");
                let id = worker
                    .name
                    .strip_suffix(&suffix)
                    .unwrap_or(&worker.name)
                    .to_owned();
                let view = views.entry(id.clone()).or_insert_with(|| WorkerView {
                    worker_id: id,
                    process: None,
                    queues: Vec::new(),
                });
                view.queues.push(WorkerOnQueue {
                    queue,
                    heartbeat_age_secs: (now - worker.heartbeat_ms).max(0) as f64 / 1000.0,
                    inflight: worker.inflight,
                });
            }
        }
        let mut list: Vec<WorkerView> = views.into_values().collect();
        list.sort_by(|a, b| {
            let age = |v: &WorkerView| v.heartbeat_age_secs().unwrap_or(f64::MAX);
            age(a).total_cmp(&age(b))
        });
        Ok(list)
    }
}
