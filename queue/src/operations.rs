//! Operator actions on a queue: pause and resume, cancel and delete jobs, and the two things a
//! handler needs to take part in them (is my job cancelled? here is my progress).
//!
//! A pause is one key in Redis, so it holds for every worker process, survives their restarts
//! and applies to workers started later; the fetch script checks it on every call and workers of
//! a paused queue ask again every 250 ms. Producers keep pushing into a paused queue.

use crate::{config::now_ms, error::Result, handle::RedisQueue};

/// Who paused a queue, and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PauseInfo {
    /// The operator (free text: a user id, `cli:<user>`).
    pub by: String,
    /// When (ms since epoch).
    pub at_ms: i64,
}

/// What cancelling one job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum CancelOutcome {
    /// It was waiting, scheduled, retrying or dead; now it is `cancelled` and will never run.
    Cancelled,
    /// It is running and its handler checks for cancellation: it stops at its next safe point.
    Requested {
        /// Deliveries so far.
        attempts: u32,
        /// When the running delivery was claimed (ms since epoch).
        started_at_ms: i64,
    },
    /// It is running and cannot be stopped; nothing was changed.
    Running {
        /// Deliveries so far.
        attempts: u32,
        /// When the running delivery was claimed (ms since epoch).
        started_at_ms: i64,
    },
    /// It already finished.
    Done,
    /// It was cancelled before.
    AlreadyCancelled,
    /// The queue does not know it (never pushed, deleted, or its record expired).
    Unknown,
}

impl CancelOutcome {
    fn parse(outcome: &str, attempts: i64, started_at_ms: i64) -> Self {
        let attempts = u32::try_from(attempts).unwrap_or(0);
        match outcome {
            "cancelled" => Self::Cancelled,
            "requested" => Self::Requested {
                attempts,
                started_at_ms,
            },
            "running" => Self::Running {
                attempts,
                started_at_ms,
            },
            "done" | "dead_gone" => Self::Done,
            "already" => Self::AlreadyCancelled,
            _ => Self::Unknown,
        }
    }
}

/// What deleting one job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteOutcome {
    /// Gone: payload, place and record.
    Deleted,
    /// In flight: left alone.
    Running,
    /// Nothing to delete.
    Unknown,
}

impl<Args> RedisQueue<Args> {
    /// Pauses the queue: within 250 ms (a blocking fetch that claims a job meanwhile hands it
    /// back) no worker claims a job from it; jobs in flight finish normally. Returns
    /// false if it was paused already (the first pause's record is kept).
    pub async fn pause(&self, by: &str) -> Result<bool> {
        let info = serde_json::to_string(&PauseInfo {
            by: by.to_owned(),
            at_ms: now_ms(),
        })?;
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(&self.inner.keys.paused)
            .arg(info)
            .arg("NX")
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }

    /// Resumes a paused queue. Returns false if it was not paused.
    pub async fn resume(&self) -> Result<bool> {
        let mut conn = self.conn.clone();
        let removed: i64 = redis::cmd("DEL")
            .arg(&self.inner.keys.paused)
            .query_async(&mut conn)
            .await?;
        Ok(removed == 1)
    }

    /// Who paused the queue and when; `None` while it runs.
    pub async fn paused(&self) -> Result<Option<PauseInfo>> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = redis::cmd("GET")
            .arg(&self.inner.keys.paused)
            .query_async(&mut conn)
            .await?;
        // A flag written by hand (not JSON) still means paused.
        Ok(raw.map(|r| serde_json::from_str(&r).unwrap_or(PauseInfo { by: r, at_ms: 0 })))
    }

    /// Cancels jobs by id (see [`CancelOutcome`]), [`ID_CHUNK`](crate::scripts::ID_CHUNK) per
    /// script call. A running job is only marked (`cooperative`: its handler checks
    /// [`Self::cancel_requested`]) or left alone.
    pub async fn cancel(&self, ids: &[String], cooperative: bool) -> Result<Vec<CancelOutcome>> {
        let mut conn = self.conn.clone();
        let replies = self
            .inner
            .scripts
            .cancel(&mut conn, &self.inner.keys, ids, cooperative)
            .await?;
        Ok(replies
            .iter()
            .map(|(o, a, s)| CancelOutcome::parse(o, *a, *s))
            .collect())
    }

    /// Deletes jobs that are not in flight, with their records (see [`DeleteOutcome`]).
    pub async fn delete(&self, ids: &[String]) -> Result<Vec<DeleteOutcome>> {
        let mut conn = self.conn.clone();
        let replies = self
            .inner
            .scripts
            .delete(&mut conn, &self.inner.keys, ids)
            .await?;
        Ok(replies
            .iter()
            .map(|o| match o.as_str() {
                "deleted" => DeleteOutcome::Deleted,
                "running" => DeleteOutcome::Running,
                _ => DeleteOutcome::Unknown,
            })
            .collect())
    }

    /// Whether an operator asked to cancel job `id` while it runs. A handler that checks this
    /// at a safe point and finds it true returns [`Cancelled`](crate::Cancelled).
    pub async fn cancel_requested(&self, id: &str) -> Result<bool> {
        let mut conn = self.conn.clone();
        let requested: bool = redis::cmd("HEXISTS")
            .arg(self.inner.keys.job(id))
            .arg("cancel_requested")
            .query_async(&mut conn)
            .await?;
        Ok(requested)
    }

    /// Records a running job's progress (JSON), shown by [`Self::status`].
    pub async fn set_progress(&self, id: &str, progress: &serde_json::Value) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("HSET")
            .arg(self.inner.keys.job(id))
            .arg("progress")
            .arg(progress.to_string())
            .query_async(&mut conn)
            .await?;
        Ok(())
    }
}
