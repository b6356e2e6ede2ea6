//! What the decision remembers between ticks: past recommendations (for the stabilization
//! windows), recent scale-ups (for the scale-up policy), the measured throughput per replica
//! and per replica count (the curve knee detection reads), and when the policy last evaluated.

use std::{collections::VecDeque, time::Duration};

use chrono::{DateTime, Utc};

use super::{
    curve::ThroughputCurve,
    decision::{Decision, Reason, before},
};
use crate::measure::Snapshot;

/// Weight of the newest throughput sample in the running average.
const THROUGHPUT_SMOOTHING: f64 = 0.5;

/// The controller's memory; update it after every tick with [`History::observe`] and
/// [`History::record`].
#[derive(Debug, Clone)]
pub struct History {
    started_at: DateTime<Utc>,
    recommendations: VecDeque<(DateTime<Utc>, u32)>,
    scale_ups: VecDeque<(DateTime<Utc>, u32)>,
    throughput_per_replica: Option<f64>,
    curve: ThroughputCurve,
    last_evaluated: Option<DateTime<Utc>>,
}

impl History {
    /// An empty history; scale-downs wait until the controller has watched a full stabilization
    /// window since `started_at`.
    pub fn new(started_at: DateTime<Utc>) -> Self {
        Self {
            started_at,
            recommendations: VecDeque::new(),
            scale_ups: VecDeque::new(),
            throughput_per_replica: None,
            curve: ThroughputCurve::default(),
            last_evaluated: None,
        }
    }

    /// A history that pretends to have watched since long ago (tests, or a restart that
    /// trusts the recorded decisions).
    pub fn warmed_up() -> Self {
        Self::new(DateTime::<Utc>::MIN_UTC)
    }

    /// When the controller started watching.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    /// Jobs per second one replica completes when it has work waiting, if measured.
    pub fn throughput_per_replica(&self) -> Option<f64> {
        self.throughput_per_replica
    }

    /// Completions per second by replica count.
    pub fn curve(&self) -> &ThroughputCurve {
        &self.curve
    }

    /// When the policy last evaluated (a decision other than [`Reason::BetweenEvaluations`]).
    pub fn last_evaluated(&self) -> Option<DateTime<Utc>> {
        self.last_evaluated
    }

    /// Adds a measured point of the throughput curve (tests and warm starts).
    pub fn with_curve_point(
        mut self,
        replicas: u32,
        completions_per_sec: f64,
        at: DateTime<Utc>,
    ) -> Self {
        self.curve.observe(replicas, completions_per_sec, at);
        self
    }

    /// Sets when the policy last evaluated (tests and warm starts).
    pub fn with_last_evaluated(mut self, at: DateTime<Utc>) -> Self {
        self.last_evaluated = Some(at);
        self
    }

    /// Sets the throughput per replica (tests and warm starts).
    pub fn with_throughput_per_replica(mut self, jobs_per_sec: f64) -> Self {
        self.throughput_per_replica = Some(jobs_per_sec);
        self
    }

    /// Adds a past recommendation (tests and warm starts).
    pub fn with_recommendation(mut self, at: DateTime<Utc>, replicas: u32) -> Self {
        self.recommendations.push_back((at, replicas));
        self
    }

    /// Adds a past scale-up of `added` replicas (tests and warm starts).
    pub fn with_scale_up(mut self, at: DateTime<Utc>, added: u32) -> Self {
        self.scale_ups.push_back((at, added));
        self
    }

    /// Recommendations made after `since`.
    pub fn recommendations_since(&self, since: DateTime<Utc>) -> impl Iterator<Item = u32> + '_ {
        self.recommendations
            .iter()
            .filter(move |(at, _)| *at > since)
            .map(|(_, replicas)| *replicas)
    }

    /// Replicas added by scale-ups after `since`.
    pub fn added_since(&self, since: DateTime<Utc>) -> u32 {
        self.scale_ups
            .iter()
            .filter(|(at, _)| *at > since)
            .map(|(_, added)| *added)
            .sum()
    }

    /// Learns the throughput per replica, and the curve's point at this count, from a tick whose
    /// workers were saturated during the whole window, whose replica count did not change in it
    /// and (when the queues tell) whose replicas were all live, not starting.
    pub fn observe(&mut self, previous: Option<&Snapshot>, current: &Snapshot) {
        let (Some(previous), Some(rates)) = (previous, current.rates) else {
            return;
        };
        let live = |s: &Snapshot| {
            s.queues
                .as_ref()
                .and_then(|q| q.live_workers())
                .and_then(|n| u32::try_from(n).ok())
        };
        let replicas = match (live(previous), live(current)) {
            // The workers that did the window's work, while replicas may still be starting.
            (Some(before), Some(now)) if before == now && now > 0 => now,
            (Some(_), Some(_)) => return,
            (_, now_live) => match (previous.current_replicas, current.current_replicas) {
                (Some(before), Some(now))
                    if before == now && now > 0 && now_live.is_none_or(|l| l >= now) =>
                {
                    now
                }
                _ => return,
            },
        };
        if !rates.saturated || rates.completion_per_sec <= 0.0 {
            return;
        }
        self.curve
            .observe(replicas, rates.completion_per_sec, current.at);
        let sample = rates.completion_per_sec / f64::from(replicas);
        self.throughput_per_replica = Some(match self.throughput_per_replica {
            Some(old) => old + THROUGHPUT_SMOOTHING * (sample - old),
            None => sample,
        });
    }

    /// Remembers a decision's recommendation and, if it was applied, its scale-up; forgets
    /// entries older than `keep`.
    pub fn record(&mut self, decision: &Decision, applied: bool, keep: Duration) {
        let now = decision.at;
        if decision.reason == Reason::BetweenEvaluations {
            return;
        }
        self.last_evaluated = Some(now);
        self.recommendations
            .push_back((now, decision.recommendation.raw));
        if let Some(current) = decision
            .current
            .filter(|c| applied && decision.desired > *c)
        {
            self.scale_ups.push_back((now, decision.desired - current));
        }
        let horizon = before(now, keep);
        while self
            .recommendations
            .front()
            .is_some_and(|(at, _)| *at < horizon)
        {
            self.recommendations.pop_front();
        }
        while self.scale_ups.front().is_some_and(|(at, _)| *at < horizon) {
            self.scale_ups.pop_front();
        }
    }
}
