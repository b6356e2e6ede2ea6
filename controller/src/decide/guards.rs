//! The guards a preset adds after the bounds: knee detection (no scale-up where the measured
//! curve stopped climbing) and safe scale to zero (never idle while work waits or runs).

use super::{
    decision::{Decision, Reason, action, before},
    history::History,
    policy::{Policy, Signal},
};
use crate::measure::QueueTotals;

/// Jobs running or held by workers presumed dead, over every queue (paused ones too: what
/// runs in them still needs its worker).
pub fn working(queues: &QueueTotals) -> u64 {
    queues
        .by_queue
        .values()
        .map(|q| q.inflight.unwrap_or(0) + q.orphaned)
        .sum()
}

/// Refuses a scale-up past the knee of the fresh throughput curve (`NoMarginalGain`), and
/// writes the curve in the notes; points older than the re-probe window are forgotten, so the
/// knee is probed again after it.
pub fn knee(decision: &mut Decision, history: &History, policy: &Policy) {
    let Some(current) = decision.current else {
        return;
    };
    if policy.min_marginal_gain <= 0.0 || decision.desired <= current {
        return;
    }
    let since = before(decision.at, policy.knee_reprobe);
    let Some(knee) = history.curve().knee(since, policy.min_marginal_gain) else {
        return;
    };
    let cap = current.max(knee.below).max(policy.min_replicas);
    if decision.desired <= cap {
        return;
    }
    decision.notes.push(format!(
        "completions by replicas {}: going from {} to {} added {:.0} % of a replica's share \
         (minimum {:.0} %); no scale-up beyond {cap} until re-probed",
        history.curve().describe(since),
        knee.below,
        knee.above,
        knee.gain * 100.0,
        policy.min_marginal_gain * 100.0,
    ));
    decision.desired = cap;
    decision.action = action(Some(current), cap);
    decision.reason = Reason::NoMarginalGain;
}

/// With `MIN_WORKERS=0`: keeps one replica while jobs are ready, due or in flight
/// (`WorkInFlight`; the ready-only signal does not see them), and names a scale-up from zero
/// (`Activation`).
pub fn zero(decision: &mut Decision, unpaused: &QueueTotals, working: u64, policy: &Policy) {
    let Some(current) = decision.current else {
        return;
    };
    let waiting = unpaused.backlog() + working;
    if decision.desired == 0 && policy.max_replicas > 0 && policy.signal == Signal::Pending {
        if waiting == 0 {
            return;
        }
        decision.notes.push(format!(
            "{} jobs ready or due and {working} in flight: keeping one replica",
            unpaused.backlog()
        ));
        decision.desired = 1;
        decision.action = action(Some(current), 1);
        decision.reason = Reason::WorkInFlight;
    } else if current == 0
        && decision.desired > 0
        && matches!(
            decision.reason,
            Reason::DesiredWithinRange | Reason::LatencySlo
        )
    {
        decision.notes.push(format!(
            "activated from zero for {} jobs ready or due",
            unpaused.backlog()
        ));
        decision.reason = Reason::Activation;
    }
}
