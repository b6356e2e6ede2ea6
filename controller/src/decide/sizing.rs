//! The raw recommendations: HPA's `ceil(amount / per replica)` with its tolerance, and the
//! replicas each queue's latency SLO asks for.

use super::policy::Policy;
use crate::measure::{QueueTotals, Rates};

/// Share of a queue's SLO its backlog should drain within; the rest is left for what the
/// measurement lag, the evaluation interval and a new replica's startup add.
pub const SLO_SHARE: f64 = 0.5;

/// `ceil(amount / per_replica)`, or `current` when the change is within the tolerance.
pub fn sized(amount: f64, per_replica: f64, current: u32, tolerance: f64) -> u32 {
    if current > 0 {
        let usage_ratio = amount / (per_replica * f64::from(current));
        if (usage_ratio - 1.0).abs() <= tolerance {
            return current;
        }
    }
    (amount / per_replica)
        .ceil()
        .clamp(0.0, f64::from(u32::MAX)) as u32
}

/// Replicas that keep every queue's latency (the age of its oldest waiting job) within its SLO:
/// keep up with arrivals and drain each queue's backlog within `SLO_SHARE` of its SLO, sooner
/// in proportion when its oldest job is already older than the SLO. A job at the back of a
/// backlog `B` waits about `B / capacity`, so this sizes on the predicted wait, not on depth.
///
/// The capacity of a replica is the measured one, else the completions of a saturated last
/// window over the replicas that did them. With neither (no replica ran yet), a queue over its SLO
/// scales the count by how far over it is, as HPA does for a utilisation metric. `None` when
/// no queue has an SLO or none is at stake.
pub fn latency_based(
    queues: &QueueTotals,
    rates: Option<Rates>,
    measured_per_replica: Option<f64>,
    reference: u32,
    policy: &Policy,
) -> Option<u32> {
    if policy.latency_slo.is_none() {
        return None;
    }
    let drain = policy.drain_target.as_secs_f64().max(1e-3);
    let mut drain_rate = 0.0;
    let mut worst_ratio: f64 = 0.0;
    for (name, q) in &queues.by_queue {
        let window = match policy.latency_slo.for_queue(name) {
            Some(slo) => {
                let slo = slo.as_secs_f64().max(1e-3);
                worst_ratio = worst_ratio.max(q.latency_secs / slo);
                let behind = (slo / q.latency_secs.max(1e-9)).min(1.0);
                (slo * SLO_SHARE).min(drain) * behind
            }
            None => drain,
        };
        drain_rate += q.backlog as f64 / window.max(1e-3);
    }
    // Completions are a replica's capacity only while work waited the whole window; idle
    // replicas complete what arrives, and sizing on that would keep any count forever.
    let per_replica = measured_per_replica.filter(|c| *c > 0.0).or_else(|| {
        rates
            .filter(|r| r.saturated && r.completion_per_sec > 0.0 && reference > 0)
            .map(|r| r.completion_per_sec / f64::from(reference))
    });
    match (per_replica, rates) {
        (Some(per_replica), Some(rates)) => Some(sized(
            rates.enqueue_per_sec + drain_rate,
            per_replica,
            reference,
            policy.tolerance,
        )),
        _ if worst_ratio > 1.0 => Some(
            (f64::from(reference.max(1)) * worst_ratio)
                .ceil()
                .min(f64::from(u32::MAX)) as u32,
        ),
        _ => None,
    }
}
