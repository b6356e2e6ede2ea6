//! The per-second sampler of a run: accepted jobs, the goodwill queue (waiting, held, the
//! oldest waiting job's age) and the controller's live worker processes; and, after the run,
//! each committed job's enqueue → commit latency from its row (`occurred_at` is the API's
//! accept instant when the client sends none, `processed_at` the commit transaction's time).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use coin_shared::queue::JobQueue;
use sqlx::PgPool;
use tokio::sync::oneshot;

use crate::{autoscale::metrics::Second, procs::worker_children};

/// What the sampler reads.
pub struct Sampler {
    /// The run's queues.
    pub queue: JobQueue,
    /// The controller, whose children are the fleet.
    pub controller_pid: u32,
    /// Jobs the API accepted so far.
    pub accepted: Arc<AtomicU64>,
}

impl Sampler {
    /// Samples every second from `started` until `stop` fires; the series, one entry a second.
    pub async fn run(
        self,
        started: Instant,
        mut stop: oneshot::Receiver<()>,
    ) -> anyhow::Result<Vec<Second>> {
        let mut ticker = tokio::time::interval_at(
            (started + Duration::from_secs(1)).into(),
            Duration::from_secs(1),
        );
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut series = Vec::new();
        let mut accepted_before = 0;
        loop {
            tokio::select! {
                _ = &mut stop => return Ok(series),
                _ = ticker.tick() => {}
            }
            let depth = self.queue.depth("goodwill").await?;
            let accepted = self.accepted.load(Ordering::Relaxed);
            let t = started.elapsed().as_secs_f64().round() as u64;
            series.push(Second {
                t: t.saturating_sub(1),
                arrivals: accepted - accepted_before,
                backlog: depth.backlog,
                inflight: depth.inflight,
                oldest_secs: depth.latency_secs,
                committed_max_secs: 0.0,
                replicas: u32::try_from(worker_children(self.controller_pid)).unwrap_or(u32::MAX),
            });
            accepted_before = accepted;
        }
    }
}

/// Every committed job as (second of the run it committed in, enqueue → commit latency in s).
pub async fn committed(pool: &PgPool, started: DateTime<Utc>) -> sqlx::Result<Vec<(i64, f64)>> {
    let rows: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT extract(epoch FROM processed_at - $1)::float8,
                extract(epoch FROM processed_at - occurred_at)::float8
         FROM goodwill_actions WHERE processed_at IS NOT NULL",
    )
    .bind(started)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, latency)| (at.floor() as i64, latency))
        .collect())
}

/// Puts the slowest commit of each second into `series` (seconds beyond it are appended).
pub fn merge_commits(series: &mut Vec<Second>, commits: &[(i64, f64)]) {
    for &(at, latency) in commits {
        let Ok(t) = u64::try_from(at) else { continue };
        while series.last().is_none_or(|last| last.t < t) {
            let last = series.last().copied().unwrap_or_default();
            let next = if series.is_empty() { 0 } else { last.t + 1 };
            series.push(Second {
                t: next,
                arrivals: 0,
                committed_max_secs: 0.0,
                ..last
            });
        }
        if let Some(s) = series.iter_mut().find(|s| s.t == t) {
            s.committed_max_secs = s.committed_max_secs.max(latency);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::autoscale::{metrics::Second, sample::merge_commits};

    #[test]
    fn each_second_keeps_its_slowest_commit() {
        let mut series: Vec<Second> = (0..3)
            .map(|t| Second {
                t,
                replicas: 2,
                ..Second::default()
            })
            .collect();
        merge_commits(
            &mut series,
            &[(0, 0.5), (0, 1.5), (2, 0.2), (4, 9.0), (-1, 3.0)],
        );
        let slowest: Vec<f64> = series.iter().map(|s| s.committed_max_secs).collect();
        assert_eq!(slowest, vec![1.5, 0.0, 0.2, 0.0, 9.0]);
        assert_eq!(series[4].t, 4);
        assert_eq!(series[4].replicas, 2);
    }
}
