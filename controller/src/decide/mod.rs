//! The decision: a pure function from what was measured (and remembered) to a replica count and
//! the reason for it. No I/O here, so every rule has a table test.
//!
//! The steps follow the Kubernetes HPA (`pkg/controller/podautoscaler`), then add ours:
//! 1. a raw recommendation: `ceil(backlog / target)` (HPA AverageValue, with its tolerance), or,
//!    once the throughput of one replica has been measured, the replicas needed to keep up with
//!    arrivals and drain the backlog within the drain target;
//! 2. stabilization: the lowest recommendation of the scale-up window and the highest of the
//!    scale-down window bound the change;
//! 3. the scale-up policy (max of +4 replicas or +100 % per 15 s), then `min`/`max` bounds;
//! 4. guards: no scale-up while the host or Postgres is the bottleneck, no change at all while
//!    the queue metrics are missing or stale.
//!
//! What a [`Preset`] turns on: a latency SLO per queue that sizes on the predicted wait
//! (`LatencySlo`), knee detection on the measured throughput curve (`NoMarginalGain`), safe
//! scale to zero (`Activation`, `WorkInFlight`), and, for KEDA's behaviour, the ready list as
//! the only signal and an evaluation period (`BetweenEvaluations`). Ours also pre-scales for
//! known work: within a lead window before a schedule that fans out jobs runs, the replicas
//! those jobs need are a floor of the raw recommendation (`Scheduled`).

mod curve;
mod decision;
mod guards;
mod history;
mod policy;
mod preset;
mod scheduled;
mod sizing;
mod slo;
#[cfg(test)]
mod tests;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

pub use curve::{CurvePoint, Knee, ThroughputCurve};
use decision::action;
pub(crate) use decision::before;
pub use decision::{Action, Decision, Reason, Recommendation};
pub use history::History;
pub use policy::{COIN_SCALE_DOWN_STABILIZATION_SECS, COIN_SCALE_UP_PODS, Policy, Signal};
pub use preset::Preset;
pub use slo::LatencySlo;

use sizing::sized;

use crate::measure::Snapshot;

/// Decides the desired replicas for `snapshot`. Pure: same inputs, same decision.
pub fn decide(
    snapshot: &Snapshot,
    history: &History,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Decision {
    let mut notes = Vec::new();
    if let Some(held) = between_evaluations(snapshot, history, policy, now) {
        return held;
    }
    let queues = snapshot.queues.as_ref();
    let stale = queues.is_some_and(|q| now - q.measured_at > delta(policy.stale_after));
    let current = snapshot.current_replicas;

    let Some(queues) = queues.filter(|_| !stale) else {
        let reason = if stale {
            notes.push("queue measurement is stale; holding".to_owned());
            Reason::MetricsStale
        } else {
            notes.push("queues could not be measured; holding".to_owned());
            Reason::MetricsMissing
        };
        let held = current.unwrap_or(policy.min_replicas);
        return bounded(
            now,
            current,
            held,
            reason,
            Recommendation::default(),
            policy,
            notes,
        );
    };

    // Paused queues' workers fetch nothing: their backlog is not work more replicas could do.
    let paused_backlogs = queues.paused_backlogs();
    let all_backlog = queues.backlog() as f64;
    let working = guards::working(queues);
    let queues = &queues.unpaused();
    let pending = policy.signal == Signal::Pending;
    let backlog = if pending {
        queues.backlog()
    } else {
        queues.ready()
    } as f64;
    let reference = current.unwrap_or(0);
    let backlog_based = sized(
        backlog,
        policy.target_backlog_per_replica,
        reference,
        policy.tolerance,
    );
    let measured = history
        .throughput_per_replica()
        .filter(|per_replica| *per_replica > 0.0 && pending)
        .map(|per_replica| along_the_curve(per_replica, history, snapshot, policy));
    let throughput_based = measured.zip(snapshot.rates).map(|(per_replica, rates)| {
        let needed = rates.enqueue_per_sec + backlog / policy.drain_target.as_secs_f64().max(1e-3);
        sized(needed, per_replica, reference, policy.tolerance)
    });
    let base = throughput_based.unwrap_or(backlog_based);
    let latency_based = sizing::latency_based(queues, snapshot.rates, measured, reference, policy)
        .filter(|_| pending);
    let slo_decides = latency_based.is_some_and(|l| l > base);
    let sized_raw = latency_based.map_or(base, |l| l.max(base));
    let prescaled = scheduled::floor(snapshot, measured, policy, now);
    let prescale_decides = prescaled.as_ref().is_some_and(|(n, _)| *n > sized_raw);
    let raw = prescaled
        .as_ref()
        .map_or(sized_raw, |(n, _)| (*n).max(sized_raw));
    let mut recommendation = Recommendation {
        backlog_based: Some(backlog_based),
        throughput_based,
        latency_based,
        scheduled: prescaled.as_ref().map(|(n, _)| *n),
        raw,
        stabilized: raw,
    };

    let Some(current) = current else {
        notes.push("the scaler did not report the current replicas; nothing is applied".to_owned());
        let desired = raw.clamp(policy.min_replicas, policy.max_replicas);
        return Decision {
            at: now,
            current: None,
            desired,
            action: Action::Hold,
            reason: Reason::ScalerUnavailable,
            recommendation,
            notes,
        };
    };

    // Stabilization, as HPA's stabilizeRecommendationWithBehaviors.
    let up_floor = history
        .recommendations_since(before(now, policy.scale_up_stabilization))
        .chain([raw])
        .min()
        .unwrap_or(raw);
    let down_ceiling = history
        .recommendations_since(before(now, policy.scale_down_stabilization))
        .chain([raw])
        .max()
        .unwrap_or(raw);
    let mut reason = if let Some((_, note)) = prescaled.filter(|_| prescale_decides) {
        // Also while holding at the floor: the schedule, not the tolerance, keeps the count.
        notes.push(note);
        Reason::Scheduled
    } else if raw == current {
        Reason::WithinTolerance
    } else if slo_decides {
        notes.push(format!(
            "the latency SLO asks for {raw} replicas; the depth for {base}"
        ));
        Reason::LatencySlo
    } else {
        Reason::DesiredWithinRange
    };
    let mut desired = if current < up_floor {
        up_floor
    } else if current > down_ceiling {
        down_ceiling
    } else {
        current
    };
    if desired < raw {
        reason = Reason::ScaleUpStabilized;
        notes.push(format!("scale-up window held {raw} back to {desired}"));
    } else if desired > raw {
        reason = Reason::ScaleDownStabilized;
        notes.push(format!(
            "highest recommendation in the scale-down window is {down_ceiling}; keeping {desired}"
        ));
    }
    let watched = now - history.started_at();
    if desired < current && watched < delta(policy.scale_down_stabilization) {
        desired = current;
        reason = Reason::ScaleDownStabilized;
        notes.push("the controller has not watched a full scale-down window yet".to_owned());
    }
    recommendation.stabilized = desired;

    // Scale-up policy: max(+pods, +fraction) over the period, from the count at its start.
    if desired > current {
        let period_start =
            current.saturating_sub(history.added_since(before(now, policy.scale_up_period)));
        let by_fraction =
            (f64::from(period_start) * (1.0 + policy.scale_up_fraction)).ceil() as u32;
        let limit = by_fraction.max(period_start + policy.scale_up_pods);
        if desired > limit {
            notes.push(format!(
                "scale-up policy allows {limit} now; wanted {desired}"
            ));
            desired = limit;
            reason = Reason::ScaleUpLimit;
        }
    }

    let mut decision = bounded(
        now,
        Some(current),
        desired,
        reason,
        recommendation,
        policy,
        notes,
    );
    guard_scale_up(&mut decision, snapshot, policy);
    guards::knee(&mut decision, history, policy);
    guards::zero(&mut decision, queues, working, policy);
    held_by_pause(
        &mut decision,
        &paused_backlogs,
        all_backlog,
        reference,
        policy,
    );
    decision
}

/// With knee detection on, the throughput of one replica at the count the arrivals need, read
/// off the measured curve (under contention a replica does less the more there are, so one
/// figure measured far from that count sizes too high or too low).
fn along_the_curve(
    per_replica: f64,
    history: &History,
    snapshot: &Snapshot,
    policy: &Policy,
) -> f64 {
    let wanted = snapshot.rates.map_or(0.0, |r| r.enqueue_per_sec);
    if policy.min_marginal_gain <= 0.0 || wanted <= 0.0 {
        return per_replica;
    }
    history
        .curve()
        .replicas_for(wanted)
        .filter(|n| *n > 0.0)
        .map_or(per_replica, |n| wanted / n)
}

/// A hold at the current count when the policy evaluated less than an evaluation period ago.
fn between_evaluations(
    snapshot: &Snapshot,
    history: &History,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Option<Decision> {
    let last = history.last_evaluated()?;
    if policy.evaluation_period.is_zero() || now - last >= delta(policy.evaluation_period) {
        return None;
    }
    let current = snapshot.current_replicas;
    Some(Decision {
        at: now,
        current,
        desired: current.unwrap_or(policy.min_replicas),
        action: Action::Hold,
        reason: Reason::BetweenEvaluations,
        recommendation: Recommendation::default(),
        notes: vec![format!(
            "evaluated {:.0} s ago; the policy evaluates every {} s",
            (now - last).as_seconds_f64(),
            policy.evaluation_period.as_secs_f64()
        )],
    })
}

/// Says so when the paused queues' backlog is what a larger count would have been for.
fn held_by_pause(
    decision: &mut Decision,
    paused: &[(&str, u64)],
    all_backlog: f64,
    reference: u32,
    policy: &Policy,
) {
    if paused.is_empty() || decision.action == Action::ScaleUp {
        return;
    }
    let with_paused = sized(
        all_backlog,
        policy.target_backlog_per_replica,
        reference,
        policy.tolerance,
    )
    .min(policy.max_replicas);
    if with_paused > decision.desired {
        let waiting: Vec<String> = paused.iter().map(|(q, n)| format!("{q}: {n}")).collect();
        decision.reason = Reason::QueuePaused;
        decision.notes.push(format!(
            "not scaling for jobs in paused queues ({}); with them {with_paused} replicas",
            waiting.join(", ")
        ));
    }
}

/// Applies `min`/`max` and derives the action.
fn bounded(
    now: DateTime<Utc>,
    current: Option<u32>,
    desired: u32,
    mut reason: Reason,
    recommendation: Recommendation,
    policy: &Policy,
    mut notes: Vec<String>,
) -> Decision {
    let clamped = desired.clamp(policy.min_replicas, policy.max_replicas);
    if clamped > desired {
        reason = Reason::TooFewReplicas;
        notes.push(format!("raised to the minimum of {}", policy.min_replicas));
    } else if clamped < desired {
        reason = Reason::TooManyReplicas;
        notes.push(format!("lowered to the maximum of {}", policy.max_replicas));
    }
    Decision {
        at: now,
        current,
        desired: clamped,
        action: action(current, clamped),
        reason,
        recommendation,
        notes,
    }
}

/// Refuses a scale-up (beyond the minimum) while the host or Postgres is saturated.
fn guard_scale_up(decision: &mut Decision, snapshot: &Snapshot, policy: &Policy) {
    let Some(current) = decision.current else {
        return;
    };
    if decision.desired <= current {
        return;
    }
    let host = snapshot.host.as_ref();
    let (reason, note) = if let Some(host) =
        host.filter(|h| h.cpu_ratio > policy.max_host_cpu_ratio)
    {
        (
            Reason::HostSaturated,
            format!(
                "host CPU at {:.0} % (limit {:.0} %)",
                host.cpu_ratio * 100.0,
                policy.max_host_cpu_ratio * 100.0
            ),
        )
    } else if let Some(host) = host.filter(|h| h.memory_ratio() > policy.max_host_memory_ratio) {
        (
            Reason::HostSaturated,
            format!(
                "host memory at {:.0} % (limit {:.0} %)",
                host.memory_ratio() * 100.0,
                policy.max_host_memory_ratio * 100.0
            ),
        )
    } else if let Some(db) = snapshot
        .database
        .as_ref()
        .filter(|d| d.connections_ratio() > policy.max_db_connections_ratio)
    {
        (
            Reason::DatabaseSaturated,
            format!(
                "Postgres has {} of {} connections in use",
                db.total_connections, db.max_connections
            ),
        )
    } else {
        return;
    };
    let floor = current.max(policy.min_replicas).min(policy.max_replicas);
    decision
        .notes
        .push(format!("no scale-up beyond {floor}: {note}"));
    decision.desired = floor;
    decision.action = action(Some(current), floor);
    if floor == current {
        decision.reason = reason;
    }
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}
