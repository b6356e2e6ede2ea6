//! Status by id, depths (with latency, pause flag and counter samples), dead-set management.
//! Operator actions (pause, cancel, delete) live in `operations.rs`, the job search in
//! `search.rs`.

use std::collections::HashMap;

use crate::{
    attempts::{self, FailedAttempt},
    config::now_ms,
    encoded_job::split_stamp,
    error::Result,
    handle::RedisQueue,
    scripts::ID_CHUNK,
};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting in ready, or delayed in scheduled without any attempt yet.
    Queued,
    /// Claimed by a worker (possibly prefetched, not yet started).
    Running,
    /// Failed transiently; waiting in scheduled for its next attempt.
    Retrying,
    /// Succeeded.
    Done,
    /// Failed permanently or ran out of attempts.
    Dead,
    /// Cancelled by an operator: it will not run (kept until an operator deletes it).
    Cancelled,
}

/// Status of one job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobStatus {
    /// The job id.
    pub id: String,
    /// Current state.
    pub state: JobState,
    /// Deliveries so far.
    pub attempts: u32,
    /// Last error text, if any.
    pub last_error: Option<String>,
    /// JSON result of a succeeded job (if retained).
    pub result: Option<String>,
    /// When it is due (ms since epoch) if it sits in the scheduled set.
    pub run_at_ms: Option<i64>,
    /// When it finished, died or was cancelled (ms since epoch).
    pub finished_at_ms: Option<i64>,
    /// An operator asked to cancel it while it ran (its handler stops at a safe point).
    pub cancel_requested: bool,
    /// When its current delivery started (ms since epoch), while it runs.
    pub started_at_ms: Option<i64>,
    /// When an operator last replayed it from the dead set (ms since epoch).
    pub replayed_at_ms: Option<i64>,
    /// Progress its handler reported (JSON), e.g. of a bulk action.
    pub progress: Option<String>,
    /// When it was pushed (ms since epoch): the payload's stamp, kept in its meta once the
    /// payload is gone.
    pub enqueued_at_ms: Option<i64>,
    /// Its failed deliveries, oldest first (the last [`FAILURES_KEPT`](crate::FAILURES_KEPT)),
    /// across replays.
    pub attempt_history: Vec<FailedAttempt>,
}

/// Queue depths, read by one script call (after a plain read of the worker names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Depths {
    /// Jobs in the ready list.
    pub ready: u64,
    /// Scheduled jobs already due (promoted on the next fetch): part of the backlog.
    pub scheduled_due: u64,
    /// Scheduled jobs not yet due (delayed jobs and retries in backoff).
    pub scheduled_future: u64,
    /// Jobs held by live workers (running or prefetched).
    pub inflight: u64,
    /// Jobs held by workers whose heartbeat is older than `orphan_after` (to be re-queued).
    pub inflight_orphaned: u64,
    /// Jobs in the dead set.
    pub dead: u64,
    /// Succeeded jobs since the counter was created.
    pub done: u64,
    /// Workers with a fresh heartbeat.
    pub live_workers: u64,
    /// Jobs cancelled by operators and not yet deleted.
    pub cancelled: u64,
    /// Jobs added by pushes since the counter was created.
    pub enqueued: u64,
    /// Workers fetch nothing while the queue is paused.
    pub paused: bool,
    /// When this was read (ms since epoch, the reader's clock).
    pub read_at_ms: i64,
    /// Since when the oldest job of the ready list waits (ms): enqueued, promoted from
    /// scheduled, or replayed.
    pub ready_since_ms: Option<i64>,
    /// When the earliest due scheduled job became due (ms), if one is due.
    pub due_since_ms: Option<i64>,
    /// The counters as an earlier read (about 10 s before, at least 1 s) left them.
    pub sample: Option<CounterSample>,
}

/// The `enqueued` and `done` counters at one instant, kept by depth reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CounterSample {
    /// When (ms since epoch).
    pub at_ms: i64,
    /// Jobs added by then.
    pub enqueued: u64,
    /// Jobs done by then.
    pub done: u64,
}

impl Depths {
    /// Work not yet started: ready + due scheduled.
    pub fn backlog(&self) -> u64 {
        self.ready + self.scheduled_due
    }

    /// How late the queue is: the age of its oldest waiting job, ready or due (zero when none
    /// waits).
    pub fn latency(&self) -> std::time::Duration {
        let oldest = match (self.ready_since_ms, self.due_since_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let ms = oldest.map_or(0, |t| (self.read_at_ms - t).max(0));
        std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// Jobs enqueued per second since [`Self::sample`]; `None` without an earlier sample.
    pub fn enqueue_rate(&self) -> Option<f64> {
        self.rate(|s| s.enqueued, self.enqueued)
    }

    /// Jobs completed per second since [`Self::sample`]; `None` without an earlier sample.
    pub fn completion_rate(&self) -> Option<f64> {
        self.rate(|s| s.done, self.done)
    }

    fn rate(&self, then: impl Fn(&CounterSample) -> u64, now: u64) -> Option<f64> {
        let s = self.sample?;
        let secs = (self.read_at_ms - s.at_ms) as f64 / 1000.0;
        (secs > 0.0).then(|| now.saturating_sub(then(&s)) as f64 / secs)
    }
}

/// A worker of one queue, as its heartbeat and its in-flight list show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueWorker {
    /// Its name in the workers set (`<worker id>-<queue>` for the platform's workers).
    pub name: String,
    /// Its last heartbeat (ms since epoch).
    pub heartbeat_ms: i64,
    /// Jobs it holds (running or prefetched).
    pub inflight: u64,
}

/// A dead job as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadJob {
    /// Job id.
    pub id: String,
    /// Time of death (ms since epoch).
    pub died_at_ms: i64,
    /// Reason.
    pub last_error: Option<String>,
}

/// Meta hash, `:state` field, stored payload, scheduled score, dead score.
type StatusReads = (
    HashMap<String, String>,
    Option<String>,
    Option<Vec<u8>>,
    Option<f64>,
    Option<f64>,
);

/// A `:state` field: `attempts,max,started_at_ms`.
#[derive(Debug, Default, Clone, Copy)]
struct LiveState {
    attempts: i64,
    started_at_ms: i64,
}

impl LiveState {
    fn parse(s: &str) -> Self {
        let mut parts = s.split(',').map(|p| p.parse::<i64>().unwrap_or(0));
        let attempts = parts.next().unwrap_or(0);
        let _max = parts.next();
        Self {
            attempts,
            started_at_ms: parts.next().unwrap_or(0),
        }
    }
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl<Args> RedisQueue<Args> {
    /// Every worker in this queue's workers set (live, or presumed dead until a live worker's
    /// recovery forgets it), with its last heartbeat and the jobs it holds: one `ZRANGE` and
    /// one pipelined `LLEN` a worker, all on the queue's hash tag.
    pub async fn workers(&self) -> Result<Vec<QueueWorker>> {
        let mut conn = self.conn.clone();
        let keys = &self.inner.keys;
        let entries: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(&keys.workers)
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await?;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (name, _) in &entries {
            pipe.llen(format!("{}{name}", keys.inflight_prefix));
        }
        let held: Vec<u64> = pipe.query_async(&mut conn).await?;
        Ok(entries
            .into_iter()
            .zip(held)
            .map(|((name, heartbeat), inflight)| QueueWorker {
                name,
                heartbeat_ms: heartbeat as i64,
                inflight,
            })
            .collect())
    }

    /// Depths of ready, scheduled (due / future), in-flight, dead and cancelled, the counters,
    /// the pause flag and the latency inputs, in one script call after a read of the worker
    /// names.
    pub async fn depths(&self) -> Result<Depths> {
        let mut conn = self.conn.clone();
        let now = now_ms();
        let r = self
            .inner
            .scripts
            .depths(&mut conn, &self.inner.keys, &self.inner.cfg, now)
            .await?;
        let at = |i: usize| (r[i] >= 0).then_some(r[i]);
        Ok(Depths {
            ready: to_u64(r[0]),
            scheduled_due: to_u64(r[1]),
            scheduled_future: to_u64(r[2]),
            inflight: to_u64(r[3]),
            inflight_orphaned: to_u64(r[4]),
            dead: to_u64(r[5]),
            done: to_u64(r[6]),
            live_workers: to_u64(r[7]),
            paused: r[8] == 1,
            enqueued: to_u64(r[9]),
            ready_since_ms: at(10),
            due_since_ms: at(11),
            sample: at(12).map(|at_ms| CounterSample {
                at_ms,
                enqueued: to_u64(r[13]),
                done: to_u64(r[14]),
            }),
            cancelled: to_u64(r[15]),
            read_at_ms: now,
        })
    }

    /// Status of job `id`; `None` if unknown (never pushed, or done with
    /// [`DoneRetention::Drop`](crate::DoneRetention::Drop) / expired).
    ///
    /// While the queue holds the job's payload, its place says its state: in the dead set,
    /// in flight (`:state` marks it started), or waiting in scheduled after a delivery
    /// (retrying), else queued. Once it finished, its meta says done or dead. Its enqueue
    /// instant and failed attempts come from the same reads.
    pub async fn status(&self, id: &str) -> Result<Option<JobStatus>> {
        let k = &self.inner.keys;
        let mut conn = self.conn.clone();
        let (meta, state, payload, sched, dead): StatusReads = redis::pipe()
            .hgetall(k.job(id))
            .hget(&k.state, id)
            .hget(&k.data, id)
            .zscore(&k.scheduled, id)
            .zscore(&k.dead, id)
            .query_async(&mut conn)
            .await?;
        let has_data = payload.is_some();
        if meta.is_empty() && !has_data {
            return Ok(None);
        }
        let num = |f: &str| meta.get(f).and_then(|v| v.parse::<i64>().ok());
        let live = state.as_deref().map(LiveState::parse).unwrap_or_default();
        let attempts = if has_data {
            live.attempts
        } else {
            num("attempts").unwrap_or(0)
        };
        let state = if meta.get("status").map(String::as_str) == Some("cancelled") {
            JobState::Cancelled
        } else if dead.is_some() {
            JobState::Dead
        } else if has_data {
            if live.started_at_ms > 0 {
                JobState::Running
            } else if sched.is_some() && attempts > 0 {
                JobState::Retrying
            } else {
                JobState::Queued
            }
        } else {
            match meta.get("status").map(String::as_str) {
                Some("done") => JobState::Done,
                Some("dead") => JobState::Dead,
                _ => JobState::Queued,
            }
        };
        Ok(Some(JobStatus {
            id: id.to_owned(),
            state,
            attempts: u32::try_from(attempts).unwrap_or(0),
            last_error: meta.get("last_error").cloned(),
            result: meta.get("result").cloned(),
            run_at_ms: sched.map(|s| s as i64),
            finished_at_ms: num("finished_at"),
            started_at_ms: (has_data && live.started_at_ms > 0).then_some(live.started_at_ms),
            replayed_at_ms: num("replayed_at"),
            cancel_requested: meta.contains_key("cancel_requested"),
            progress: meta.get("progress").cloned(),
            enqueued_at_ms: payload
                .as_deref()
                .and_then(|p| split_stamp(p).0)
                .or_else(|| num("enqueued_at")),
            attempt_history: attempts::from_meta(&meta),
        }))
    }

    /// The payload of job `id` as its producer gave it (without the enqueue stamp), while the
    /// queue holds it; `None` once it finished.
    pub async fn payload(&self, id: &str) -> Result<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        let stored: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(&self.inner.keys.data)
            .arg(id)
            .query_async(&mut conn)
            .await?;
        Ok(stored.map(crate::encoded_job::strip_stamp))
    }

    /// Dead jobs, most recent first.
    pub async fn dead(&self, offset: usize, limit: usize) -> Result<Vec<DeadJob>> {
        let k = &self.inner.keys;
        let mut conn = self.conn.clone();
        let stop = (offset + limit.max(1) - 1) as isize;
        let entries: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(&k.dead)
            .arg(offset)
            .arg(stop)
            .arg("REV")
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await?;
        let mut pipe = redis::pipe();
        for (id, _) in &entries {
            pipe.hget(k.job(id), "last_error");
        }
        let errors: Vec<Option<String>> = if entries.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut conn).await?
        };
        Ok(entries
            .into_iter()
            .zip(errors)
            .map(|((id, score), last_error)| DeadJob {
                id,
                died_at_ms: score as i64,
                last_error,
            })
            .collect())
    }

    /// Moves the given dead jobs back to ready (same ids, attempts reset to 0).
    /// Returns how many were replayed.
    pub async fn replay(&self, ids: &[String]) -> Result<u64> {
        let mut conn = self.conn.clone();
        let mut total = 0;
        for chunk in ids.chunks(ID_CHUNK) {
            let (n, _) = self
                .inner
                .scripts
                .replay(&mut conn, &self.inner.keys, chunk)
                .await?;
            total += to_u64(n);
        }
        Ok(total)
    }

    /// Replays the whole dead set, 1,000 jobs per call. Returns how many were replayed.
    pub async fn replay_all(&self) -> Result<u64> {
        let mut conn = self.conn.clone();
        let mut total = 0;
        loop {
            let (read, n) = self
                .inner
                .scripts
                .replay_oldest(&mut conn, &self.inner.keys, ID_CHUNK)
                .await?;
            total += to_u64(n);
            if read == 0 {
                return Ok(total);
            }
        }
    }

    /// Deletes every key of this queue (tests, benches). Uses SCAN; not for production.
    pub async fn purge(&self) -> Result<u64> {
        let tag = format!("{{{}:{}}}*", self.inner.cfg.namespace, self.inner.cfg.queue);
        let mut conn = self.conn.clone();
        let mut cursor: u64 = 0;
        let mut deleted = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&tag)
                .arg("COUNT")
                .arg(10_000)
                .query_async(&mut conn)
                .await?;
            for chunk in keys.chunks(ID_CHUNK) {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(chunk)
                    .query_async(&mut conn)
                    .await?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }
}
