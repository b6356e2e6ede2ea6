//! Pre-scaling for known work (`Scheduled`): within the lead window before a schedule that fans
//! out jobs runs, the replicas needed to drain the jobs it will enqueue within the drain target
//! (or the share of its queue's latency SLO, when sooner) become a floor of the recommendation,
//! so the replicas are up when the jobs arrive instead of a measurement lag later.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use super::{policy::Policy, sizing::SLO_SHARE};
use crate::measure::Snapshot;

/// The replicas the coming scheduled work asks for, with the note naming it; `None` outside
/// every lead window (or with pre-scaling off).
///
/// A replica drains `per_replica × window` jobs in the window when its throughput was measured,
/// else it carries the backlog target (`TARGET_BACKLOG_PER_WORKER`) as a backlog would be sized.
/// Work bound for a paused queue is skipped: its workers would fetch nothing.
pub fn floor(
    snapshot: &Snapshot,
    measured_per_replica: Option<f64>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Option<(u32, String)> {
    if policy.prescale_lead.is_zero() {
        return None;
    }
    let lead = TimeDelta::from_std(policy.prescale_lead).unwrap_or(TimeDelta::MAX);
    let drain = policy.drain_target.as_secs_f64().max(1e-3);
    snapshot
        .scheduled
        .iter()
        .flatten()
        .filter(|w| w.jobs > 0 && w.at >= now && w.at - now <= lead)
        .filter(|w| !paused(snapshot, w.queue))
        .map(|w| {
            let window = policy
                .latency_slo
                .for_queue(w.queue)
                .map_or(drain, |slo| (slo.as_secs_f64() * SLO_SHARE).min(drain))
                .max(1e-3);
            let (per_replica, how) = match measured_per_replica.filter(|c| *c > 0.0) {
                Some(rate) => (
                    rate * window,
                    format!("to drain them within {window:.0} s at {rate:.1} jobs/s a replica"),
                ),
                None => (
                    policy.target_backlog_per_replica,
                    format!("at {:.0} jobs a replica", policy.target_backlog_per_replica),
                ),
            };
            let replicas = (w.jobs as f64 / per_replica.max(1e-9))
                .ceil()
                .clamp(1.0, f64::from(u32::MAX)) as u32;
            let note = format!(
                "{} runs at {} (in {} s) and enqueues {} jobs on {} ({} items): {replicas} \
                 replicas ahead of it {how}",
                w.schedule,
                w.at.to_rfc3339_opts(SecondsFormat::Secs, true),
                (w.at - now).num_seconds(),
                w.jobs,
                w.queue,
                w.items,
            );
            (replicas, note)
        })
        .max_by_key(|(replicas, _)| *replicas)
}

/// Whether `queue` was measured paused.
fn paused(snapshot: &Snapshot, queue: &str) -> bool {
    snapshot
        .queues
        .as_ref()
        .and_then(|q| q.by_queue.get(queue))
        .is_some_and(|q| q.paused)
}
