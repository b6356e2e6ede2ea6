//! Queue depths, behind the thin [`QueueProbe`] seam so the queue backend can change without
//! touching the decision.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use coin_shared::queue::{JobQueue, QueueError};
use futures::future::BoxFuture;
use serde::Serialize;

/// One queue's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct QueueStats {
    /// Ready to run now (ready plus due scheduled).
    pub backlog: u64,
    /// In the ready list only (what KEDA's redis-lists scaler reads), when the backend tells.
    pub ready: Option<u64>,
    /// Scheduled for later (delayed or waiting for a retry).
    pub scheduled: u64,
    /// Running now, when the backend can tell.
    pub inflight: Option<u64>,
    /// Held by workers presumed dead, about to be re-queued.
    pub orphaned: u64,
    /// Workers with a fresh heartbeat, when the backend can tell.
    pub live_workers: Option<u64>,
    /// Failed for good.
    pub dead: u64,
    /// Completed so far (a counter; rates come from its deltas).
    pub done: u64,
    /// Age in seconds of its oldest job waiting to run.
    pub latency_secs: f64,
    /// Paused by an operator: its workers fetch nothing, so its backlog is not scaled for.
    pub paused: bool,
}

/// Every queue's counts at one instant.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueTotals {
    /// When Redis answered.
    pub measured_at: DateTime<Utc>,
    /// By queue name (without namespace).
    pub by_queue: BTreeMap<String, QueueStats>,
}

impl QueueTotals {
    /// The same measurement without the paused queues: what workers can work on.
    pub fn unpaused(&self) -> QueueTotals {
        QueueTotals {
            measured_at: self.measured_at,
            by_queue: self
                .by_queue
                .iter()
                .filter(|(_, q)| !q.paused)
                .map(|(name, q)| (name.clone(), *q))
                .collect(),
        }
    }

    /// The same measurement of the queues in `queues` only: what one worker pool serves.
    pub fn only(&self, queues: &[&str]) -> QueueTotals {
        QueueTotals {
            measured_at: self.measured_at,
            by_queue: self
                .by_queue
                .iter()
                .filter(|(name, _)| queues.contains(&name.as_str()))
                .map(|(name, q)| (name.clone(), *q))
                .collect(),
        }
    }

    /// The paused queues that hold a backlog, with it.
    pub fn paused_backlogs(&self) -> Vec<(&str, u64)> {
        self.by_queue
            .iter()
            .filter(|(_, q)| q.paused && q.backlog > 0)
            .map(|(name, q)| (name.as_str(), q.backlog))
            .collect()
    }

    /// The oldest waiting job's age over the queues that are not paused, in seconds.
    pub fn latency_secs(&self) -> f64 {
        self.by_queue
            .values()
            .filter(|q| !q.paused)
            .map(|q| q.latency_secs)
            .fold(0.0, f64::max)
    }

    /// Backlog summed over queues.
    pub fn backlog(&self) -> u64 {
        self.by_queue.values().map(|q| q.backlog).sum()
    }

    /// The ready lists summed over queues (the backlog where a queue does not tell).
    pub fn ready(&self) -> u64 {
        self.by_queue
            .values()
            .map(|q| q.ready.unwrap_or(q.backlog))
            .sum()
    }

    /// The most workers with a fresh heartbeat on any queue, if a queue tells.
    pub fn live_workers(&self) -> Option<u64> {
        self.by_queue.values().filter_map(|q| q.live_workers).max()
    }

    /// In-flight summed over queues, if every queue reports it.
    pub fn inflight(&self) -> Option<u64> {
        self.by_queue.values().map(|q| q.inflight).sum()
    }

    /// Dead jobs summed over queues.
    pub fn dead(&self) -> u64 {
        self.by_queue.values().map(|q| q.dead).sum()
    }

    /// Completed jobs summed over queues.
    pub fn done(&self) -> u64 {
        self.by_queue.values().map(|q| q.done).sum()
    }

    /// Jobs not yet finished: backlog, scheduled, orphaned and (when known) in flight.
    pub fn pending(&self) -> u64 {
        self.by_queue
            .values()
            .map(|q| q.backlog + q.scheduled + q.orphaned + q.inflight.unwrap_or(0))
            .sum()
    }
}

/// Reads the depth of every named queue.
pub trait QueueProbe: Send + Sync {
    /// Counts of each queue in `queues`.
    fn measure<'a>(
        &'a self,
        queues: &'a [&'a str],
    ) -> BoxFuture<'a, Result<QueueTotals, QueueError>>;
}

impl QueueProbe for JobQueue {
    fn measure<'a>(
        &'a self,
        queues: &'a [&'a str],
    ) -> BoxFuture<'a, Result<QueueTotals, QueueError>> {
        Box::pin(async move {
            let mut by_queue = BTreeMap::new();
            for queue in queues {
                let depth = self.depth(queue).await?;
                by_queue.insert(
                    (*queue).to_owned(),
                    QueueStats {
                        backlog: depth.backlog,
                        ready: Some(depth.ready),
                        scheduled: depth.scheduled,
                        inflight: Some(depth.inflight),
                        orphaned: depth.orphaned,
                        live_workers: Some(depth.live_workers),
                        dead: depth.dead,
                        done: depth.done,
                        latency_secs: depth.latency_secs,
                        paused: depth.paused,
                    },
                );
            }
            Ok(QueueTotals {
                measured_at: Utc::now(),
                by_queue,
            })
        })
    }
}
