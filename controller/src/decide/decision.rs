//! What a decision says: the action, the replica counts, the reason in HPA's vocabulary (then
//! ours) and the raw recommendation — the values every tick records and exports.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// Why the desired replica count is what it is (HPA's vocabulary first, then ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Reason {
    /// The recommendation was applied unchanged.
    DesiredWithinRange,
    /// The change is within the tolerance: keep the current count.
    WithinTolerance,
    /// A lower recommendation in the scale-up window held the scale-up back.
    ScaleUpStabilized,
    /// A higher recommendation in the scale-down window held the scale-down back.
    ScaleDownStabilized,
    /// The scale-up policy capped the change.
    ScaleUpLimit,
    /// Raised to the minimum.
    TooFewReplicas,
    /// Lowered to the maximum.
    TooManyReplicas,
    /// Host CPU or memory is above its threshold: adding workers would not help.
    HostSaturated,
    /// Postgres connections are near `max_connections`: adding workers would not help.
    DatabaseSaturated,
    /// The queues could not be measured: hold.
    MetricsMissing,
    /// The queue measurement is too old to act on: hold.
    MetricsStale,
    /// The scaler could not report the current replicas: nothing can be applied.
    ScalerUnavailable,
    /// The backlog that would have asked for more replicas waits in paused queues.
    QueuePaused,
    /// A queue's latency SLO asked for more replicas than its depth did.
    LatencySlo,
    /// Measured throughput stopped growing with replicas (the knee): no scale-up until the
    /// curve is re-probed.
    NoMarginalGain,
    /// Scaled up from zero: jobs are ready or due.
    Activation,
    /// Kept one replica instead of none: jobs are ready, due or in flight.
    WorkInFlight,
    /// The policy evaluates only every evaluation period: held until the next one.
    BetweenEvaluations,
    /// A schedule that fans out jobs runs within the lead window: the replicas its jobs need
    /// are up ahead of it.
    Scheduled,
}

impl Reason {
    /// The code as recorded and exported.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DesiredWithinRange => "DesiredWithinRange",
            Self::WithinTolerance => "WithinTolerance",
            Self::ScaleUpStabilized => "ScaleUpStabilized",
            Self::ScaleDownStabilized => "ScaleDownStabilized",
            Self::ScaleUpLimit => "ScaleUpLimit",
            Self::TooFewReplicas => "TooFewReplicas",
            Self::TooManyReplicas => "TooManyReplicas",
            Self::HostSaturated => "HostSaturated",
            Self::DatabaseSaturated => "DatabaseSaturated",
            Self::MetricsMissing => "MetricsMissing",
            Self::MetricsStale => "MetricsStale",
            Self::ScalerUnavailable => "ScalerUnavailable",
            Self::QueuePaused => "QueuePaused",
            Self::LatencySlo => "LatencySlo",
            Self::NoMarginalGain => "NoMarginalGain",
            Self::Activation => "Activation",
            Self::WorkInFlight => "WorkInFlight",
            Self::BetweenEvaluations => "BetweenEvaluations",
            Self::Scheduled => "Scheduled",
        }
    }
}

/// What the decision asks the scaler to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Add replicas.
    ScaleUp,
    /// Remove replicas.
    ScaleDown,
    /// Keep the count.
    Hold,
}

impl Action {
    /// The label value exported on `coin_controller_decisions_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScaleUp => "scale_up",
            Self::ScaleDown => "scale_down",
            Self::Hold => "hold",
        }
    }
}

/// The intermediate numbers, recorded so an operator can follow the reasoning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Recommendation {
    /// `ceil(backlog / target)` after the tolerance check.
    pub backlog_based: Option<u32>,
    /// Replicas to keep up with arrivals and drain the backlog within the drain target.
    pub throughput_based: Option<u32>,
    /// Replicas to keep every queue's latency within its SLO, when one is set.
    pub latency_based: Option<u32>,
    /// Replicas the jobs of a schedule about to run need, within its lead window.
    pub scheduled: Option<u32>,
    /// The one used (throughput-based when measured), before stabilization and limits.
    pub raw: u32,
    /// After the stabilization windows.
    pub stabilized: u32,
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// When it was made.
    pub at: DateTime<Utc>,
    /// Replicas reported by the scaler.
    pub current: Option<u32>,
    /// Replicas wanted.
    pub desired: u32,
    /// Up, down or hold.
    pub action: Action,
    /// The rule that settled `desired`.
    pub reason: Reason,
    /// How it was reached.
    pub recommendation: Recommendation,
    /// One readable sentence per rule that fired, for the log and the record.
    pub notes: Vec<String>,
}

/// `now - window`, saturating at the earliest representable instant.
pub(crate) fn before(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The action that takes `current` to `desired`: hold when the current count is unknown.
pub(crate) fn action(current: Option<u32>, desired: u32) -> Action {
    match current {
        Some(current) if desired > current => Action::ScaleUp,
        Some(current) if desired < current => Action::ScaleDown,
        _ => Action::Hold,
    }
}
