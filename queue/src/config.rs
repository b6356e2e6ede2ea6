//! Queue configuration and the Redis key layout.

use std::time::Duration;

/// What to keep once a job succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneRetention {
    /// Delete payload and meta at once (status by id then answers `Unknown`).
    Drop,
    /// Delete the payload, keep the meta hash (status, attempts, result) for this long.
    KeepMeta(Duration),
    /// Delete the payload, keep the meta hash forever (you trim it).
    KeepMetaForever,
}

/// Configuration of one queue. Cheap to clone.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Key namespace, first part of the hash tag (`{namespace:queue}`). Default `coin`.
    pub namespace: String,
    /// Queue name, second part of the hash tag.
    pub queue: String,
    /// Deliveries allowed per job (including the first) before it goes dead. Default 5.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt. Default 1 s.
    pub backoff_base: Duration,
    /// Upper bound of a retry delay. Default 10 min.
    pub backoff_max: Duration,
    /// A worker whose heartbeat is older than this is dead; its in-flight jobs are re-queued.
    /// Default 60 s.
    pub orphan_after: Duration,
    /// Heartbeat period (also the orphan-recovery period). Default 10 s.
    pub heartbeat_interval: Duration,
    /// Jobs claimed per fetch round trip (they wait in the worker's buffer until a
    /// concurrency slot frees). Default 100.
    pub prefetch: usize,
    /// Longest BLMOVE block when the queue is empty. Also bounds how late a due
    /// scheduled job is promoted when nobody pushes. Default 1 s.
    pub block_timeout: Duration,
    /// Scheduled jobs promoted per fetch call (bounded). Default 1,000.
    pub promote_chunk: usize,
    /// In-flight ids re-queued per heartbeat call (bounded). Default 1,000.
    pub recover_chunk: usize,
    /// Acks recorded per Lua call. Default 500.
    pub ack_chunk: usize,
    /// Retention of succeeded jobs. Default: meta kept 1 h.
    pub done_retention: DoneRetention,
    /// Response timeout for non-blocking commands. Default 5 s.
    pub response_timeout: Duration,
    /// A worker gives up (its future returns an error) when Redis failed continuously
    /// for this long. Default 60 s.
    pub unavailable_after: Duration,
    /// Longest error text stored as `last_error` / result (bytes). Default 4,096.
    pub max_text: usize,
}

impl QueueConfig {
    /// Defaults for queue `queue` in namespace `coin`.
    pub fn new(queue: impl Into<String>) -> Self {
        Self {
            namespace: "coin".to_owned(),
            queue: queue.into(),
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(600),
            orphan_after: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(10),
            prefetch: 100,
            block_timeout: Duration::from_secs(1),
            promote_chunk: 1_000,
            recover_chunk: 1_000,
            ack_chunk: 500,
            done_retention: DoneRetention::KeepMeta(Duration::from_secs(3_600)),
            response_timeout: Duration::from_secs(5),
            unavailable_after: Duration::from_secs(60),
            max_text: 4_096,
        }
    }

    /// Sets the namespace (first part of the hash tag).
    #[must_use]
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = ns.into();
        self
    }
    /// Sets [`Self::max_attempts`] (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    /// Sets the exponential backoff (base, cap).
    #[must_use]
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max;
        self
    }
    /// Sets [`Self::orphan_after`] and [`Self::heartbeat_interval`].
    #[must_use]
    pub fn liveness(mut self, heartbeat: Duration, orphan_after: Duration) -> Self {
        self.heartbeat_interval = heartbeat;
        self.orphan_after = orphan_after;
        self
    }
    /// Sets [`Self::prefetch`] (at least 1).
    #[must_use]
    pub fn prefetch(mut self, n: usize) -> Self {
        self.prefetch = n.max(1);
        self
    }
    /// Sets [`Self::block_timeout`] (at least 10 ms).
    #[must_use]
    pub fn block_timeout(mut self, d: Duration) -> Self {
        self.block_timeout = d.max(Duration::from_millis(10));
        self
    }
    /// Sets [`Self::response_timeout`].
    #[must_use]
    pub fn response_timeout(mut self, d: Duration) -> Self {
        self.response_timeout = d;
        self
    }

    /// Sets [`Self::done_retention`].
    #[must_use]
    pub fn done_retention(mut self, r: DoneRetention) -> Self {
        self.done_retention = r;
        self
    }

    pub(crate) fn keys(&self) -> Keys {
        Keys::new(&self.namespace, &self.queue)
    }

    /// Value of the ack script's ttl argument.
    pub(crate) fn done_ttl_arg(&self) -> i64 {
        match self.done_retention {
            DoneRetention::Drop => 0,
            DoneRetention::KeepMeta(d) => d.as_secs().max(1) as i64,
            DoneRetention::KeepMetaForever => -1,
        }
    }

    /// Retry delay before attempt `attempt + 1`: `base * 2^(attempt-1)`, capped, with
    /// "equal jitter" (half fixed, half random), so retries of a burst spread out.
    pub fn backoff_for(&self, attempt: usize) -> Duration {
        let exp = attempt.saturating_sub(1).min(30) as u32;
        let raw = self.backoff_base.saturating_mul(1u32 << exp.min(20));
        let capped = raw.min(self.backoff_max);
        let half = capped / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// The Redis keys of one queue. Every key shares the hash tag `{namespace:queue}`, so all
/// of them live in one Redis Cluster slot and multi-key scripts stay legal.
#[derive(Debug, Clone)]
pub struct Keys {
    /// `{ns:q}:ready` LIST of job ids waiting to run (pushed at the tail, claimed from
    /// the head; released/recovered jobs go back to the head).
    pub ready: String,
    /// `{ns:q}:scheduled` ZSET id → run-at (ms): delayed jobs and retries.
    pub scheduled: String,
    /// `{ns:q}:data` HASH id → payload (JSON bytes).
    pub data: String,
    /// `{ns:q}:dead` ZSET id → time of death (ms).
    pub dead: String,
    /// `{ns:q}:done` STRING counter of succeeded jobs.
    pub done: String,
    /// `{ns:q}:workers` ZSET worker name → last heartbeat (ms).
    pub workers: String,
    /// Prefix of per-worker in-flight LISTs: `{ns:q}:inflight:<worker>`.
    pub inflight_prefix: String,
    /// `{ns:q}:state` HASH id → `attempts,max,started_at_ms[,ready_since_ms]` of a job the
    /// queue holds (the 4th field set when a scheduled job is promoted or a dead one replayed)
    /// (waiting after a delivery, in flight, retrying, dead). `max` 0 means the queue's
    /// [`QueueConfig::max_attempts`], `started_at_ms` 0 means not in flight; no field means
    /// `0,0,0`. One declared key, so the fetch script can count deliveries of jobs it only
    /// learns about while it runs.
    pub state: String,
    /// Prefix of per-job meta HASHes: `{ns:q}:job:<id>`, the job's history, written only by
    /// scripts that are given the key (push reads it, ack/replay/note/cancel write it):
    /// `last_error`, `retry_at`, `replayed_at`, `cancel_requested`, `progress`, its failed
    /// deliveries (`failures` and `failure:<n>`, see [`FailedAttempt`](crate::FailedAttempt)),
    /// and once it finished `status` (`done` | `dead` | `cancelled`), `finished_at`, plus
    /// `result` and `attempts` on success and `enqueued_at` (the payload's stamp) once the
    /// payload is gone. Kept after success per [`DoneRetention`]; dead and cancelled
    /// jobs' meta is kept until an operator deletes the job.
    pub job_prefix: String,
    /// `{ns:q}:cancelled` ZSET id → time of cancellation (ms).
    pub cancelled: String,
    /// `{ns:q}:paused` STRING, present while the queue is paused: who paused it and when.
    pub paused: String,
    /// `{ns:q}:enqueued` STRING counter of jobs added by pushes.
    pub enqueued: String,
    /// `{ns:q}:samples` LIST of `ms,enqueued,done` samples (newest first, at most one a second,
    /// 120 kept), written by depth reads, so any reader can compute rates.
    pub samples: String,
}

impl Keys {
    fn new(ns: &str, queue: &str) -> Self {
        let tag = format!("{{{ns}:{queue}}}");
        Self {
            ready: format!("{tag}:ready"),
            scheduled: format!("{tag}:scheduled"),
            data: format!("{tag}:data"),
            dead: format!("{tag}:dead"),
            done: format!("{tag}:done"),
            workers: format!("{tag}:workers"),
            state: format!("{tag}:state"),
            inflight_prefix: format!("{tag}:inflight:"),
            job_prefix: format!("{tag}:job:"),
            cancelled: format!("{tag}:cancelled"),
            paused: format!("{tag}:paused"),
            enqueued: format!("{tag}:enqueued"),
            samples: format!("{tag}:samples"),
        }
    }

    /// In-flight list of `worker`.
    pub fn inflight(&self, worker: &str) -> String {
        format!("{}{worker}", self.inflight_prefix)
    }

    /// Meta hash of job `id`.
    pub fn job(&self, id: &str) -> String {
        format!("{}{id}", self.job_prefix)
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
