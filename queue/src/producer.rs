//! The producer side of [`RedisQueue`]: single pushes (coalesced), bulk and delayed pushes,
//! under minted or producer-chosen ids.
//!
//! Every push goes through the push script, 1,000 jobs per call, which skips ids the queue
//! already knows, so a producer may retry a push under the same id.

use std::{sync::Arc, time::Duration};

use apalis_core::task::Task;
use redis::aio::ConnectionManager;
use ulid::Ulid;

use crate::{
    ack::JobKey, config::now_ms, encoded_job::EncodedJob, error::Result, handle::RedisQueue,
    inner::Inner, scripts::ID_CHUNK,
};

impl<Args> RedisQueue<Args> {
    /// Pushes already encoded jobs (id, payload, run_at_ms, max_attempts), 1,000 per script
    /// call; ids the queue already knows are skipped.
    pub(crate) async fn push_encoded(&self, jobs: Vec<EncodedJob>) -> Result<()> {
        push_jobs(self.inner.clone(), self.conn.clone(), jobs).await
    }
}

impl<Args: serde::Serialize> RedisQueue<Args> {
    /// Enqueues one job to run now; returns its id (a ULID minted here).
    pub async fn enqueue(&self, args: &Args) -> Result<String> {
        let id = Ulid::generate().to_string();
        self.enqueue_with_id(&id, args, None).await?;
        Ok(id)
    }

    /// Enqueues one job under a producer-minted id (e.g. the id already returned by a
    /// `202 Accepted`), optionally delayed.
    pub async fn enqueue_with_id(
        &self,
        id: &str,
        args: &Args,
        delay: Option<Duration>,
    ) -> Result<()> {
        let run_at_ms = delay.map(|d| now_ms() + d.as_millis() as i64);
        let payload = serde_json::to_vec(args)?;
        let job = EncodedJob {
            id: id.to_owned(),
            payload,
            run_at_ms,
            max_attempts: None,
        };
        // Concurrent single pushes share one script call (group commit on the producer side).
        self.inner.coalescer.push(&self.conn, job).await
    }

    /// Enqueues many jobs under producer-minted ids, to run now, 1,000 per round trip; ids the
    /// queue already knows are skipped.
    pub async fn enqueue_bulk_with_ids(&self, jobs: &[(String, &Args)]) -> Result<()> {
        let mut encoded = Vec::with_capacity(jobs.len());
        for (id, args) in jobs {
            encoded.push(EncodedJob {
                id: id.clone(),
                payload: serde_json::to_vec(args)?,
                run_at_ms: None,
                max_attempts: None,
            });
        }
        self.push_encoded(encoded).await
    }

    /// Enqueues many jobs to run now; returns their ids in order.
    pub async fn enqueue_bulk(&self, args: &[Args]) -> Result<Vec<String>> {
        self.enqueue_bulk_at(args, None).await
    }

    /// Enqueues many jobs to run after `delay`; returns their ids in order.
    pub async fn enqueue_bulk_delayed(
        &self,
        args: &[Args],
        delay: Duration,
    ) -> Result<Vec<String>> {
        self.enqueue_bulk_at(args, Some(now_ms() + delay.as_millis() as i64))
            .await
    }

    async fn enqueue_bulk_at(&self, args: &[Args], run_at_ms: Option<i64>) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(args.len());
        let mut jobs = Vec::with_capacity(args.len());
        for a in args {
            let id = Ulid::generate().to_string();
            jobs.push(EncodedJob {
                id: id.clone(),
                payload: serde_json::to_vec(a)?,
                run_at_ms,
                max_attempts: None,
            });
            ids.push(id);
        }
        self.push_encoded(jobs).await?;
        Ok(ids)
    }
}

impl EncodedJob {
    /// A task given to apalis' `TaskSink`: its id is the [`JobKey`] if set, else its task id,
    /// else a fresh ULID.
    pub(crate) fn from_task(task: Task<Vec<u8>>) -> Self {
        let ctx = task.ctx().clone();
        let id = ctx
            .data()
            .get::<JobKey>()
            .map(|k| k.0.to_string())
            .or_else(|| ctx.task_id().map(ToString::to_string))
            .unwrap_or_else(|| Ulid::generate().to_string());
        Self {
            id,
            payload: task.args,
            // apalis' run_at is in seconds.
            run_at_ms: ctx.run_at().map(|s| s as i64 * 1000),
            max_attempts: ctx.max_attempts(),
        }
    }
}

/// Pushes `jobs`, one script call per [`ID_CHUNK`]: bounded arguments, and ids the queue already
/// knows are skipped atomically.
pub(crate) async fn push_jobs(
    inner: Arc<Inner>,
    mut conn: ConnectionManager,
    jobs: Vec<EncodedJob>,
) -> Result<()> {
    for chunk in jobs.chunks(ID_CHUNK) {
        inner.scripts.push(&mut conn, &inner.keys, chunk).await?;
    }
    Ok(())
}
