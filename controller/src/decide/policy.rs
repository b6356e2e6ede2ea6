//! The knobs of the decision, with Kubernetes HPA's defaults where HPA has one. The default
//! policy is HPA's behaviour plus the drain target; the latency SLO, knee detection and the
//! evaluation period are off in it and set by a [`super::preset::Preset`].

use std::time::Duration;

use super::slo::LatencySlo;

/// The coin policy's scale-down stabilization (`SCALE_DOWN_STABILIZATION_SECS`), against
/// HPA's 300 s: a scale-down removes idle workers first and a scale-up reaches the size it
/// needs in one tick, so a scale-down that proves early costs one replica's start, not a
/// killed job or minutes of backlog; three ticks keep one noisy window from flapping.
pub const COIN_SCALE_DOWN_STABILIZATION_SECS: u64 = 15;

/// The coin policy's scale-up step (`SCALE_UP_PODS`), against HPA's 4: the decision sizes on
/// measured throughput and the latency SLO, with knee detection against runaway, so it goes
/// straight to what it computed instead of +4 a period while the backlog grows.
pub const COIN_SCALE_UP_PODS: u32 = 100;

/// What the decision reads from the queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Signal {
    /// Ours: ready and due scheduled jobs size the fleet, measured throughput and latency refine
    /// it, and jobs in flight keep a replica (never idle while work runs).
    #[default]
    Pending,
    /// What KEDA's redis-lists scaler feeds HPA: the length of the ready list only (no due
    /// scheduled jobs, nothing in flight), sized by the AverageValue target alone.
    ReadyOnly,
}

/// How replicas are sized and bounded.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Fewest replicas (`MIN_WORKERS`).
    pub min_replicas: u32,
    /// Most replicas (`MAX_WORKERS`).
    pub max_replicas: u32,
    /// Backlog one replica should carry (HPA AverageValue target).
    pub target_backlog_per_replica: f64,
    /// Relative change below which nothing is done (HPA: 0.1).
    pub tolerance: f64,
    /// Scale-up policy: at most this many pods more per period (HPA: 4)...
    pub scale_up_pods: u32,
    /// ...or this fraction more, whichever allows more (HPA: 1.0 = +100 %).
    pub scale_up_fraction: f64,
    /// The period of the scale-up policy (HPA: 15 s).
    pub scale_up_period: Duration,
    /// Scale-up stabilization window: lowest recommendation in it wins (HPA: 0).
    pub scale_up_stabilization: Duration,
    /// Scale-down stabilization window: highest recommendation in it wins (HPA: 300 s).
    pub scale_down_stabilization: Duration,
    /// Time within which the backlog should be drained by the measured throughput.
    pub drain_target: Duration,
    /// Host CPU usage above which no scale-up happens.
    pub max_host_cpu_ratio: f64,
    /// Host memory usage above which no scale-up happens.
    pub max_host_memory_ratio: f64,
    /// Postgres connections / max_connections above which no scale-up happens.
    pub max_db_connections_ratio: f64,
    /// Queue measurements older than this count as stale.
    pub stale_after: Duration,
    /// What the decision reads from the queues.
    pub signal: Signal,
    /// Evaluate at most once per this period and hold in between (KEDA polls every 30 s); zero
    /// evaluates every tick.
    pub evaluation_period: Duration,
    /// How long a job of each queue may wait (`LATENCY_SLO_SECS`); none turns the rule off.
    pub latency_slo: LatencySlo,
    /// Smallest gain of the last replicas added, as a share of what an average replica already
    /// completes, below which no further scale-up happens (`MIN_MARGINAL_GAIN`); 0 turns knee
    /// detection off.
    pub min_marginal_gain: f64,
    /// Throughput measured at a replica count is trusted this long, so a knee is re-probed
    /// after it (`KNEE_REPROBE_SECS`).
    pub knee_reprobe: Duration,
    /// How long before a schedule that fans out jobs runs the replicas its jobs need become a
    /// floor (`PRESCALE_LEAD_SECS`, reason `Scheduled`); zero turns pre-scaling off.
    pub prescale_lead: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_replicas: 1,
            max_replicas: 10,
            target_backlog_per_replica: 100.0,
            tolerance: 0.1,
            scale_up_pods: 4,
            scale_up_fraction: 1.0,
            scale_up_period: Duration::from_secs(15),
            scale_up_stabilization: Duration::ZERO,
            scale_down_stabilization: Duration::from_secs(300),
            drain_target: Duration::from_secs(60),
            max_host_cpu_ratio: 0.9,
            max_host_memory_ratio: 0.9,
            max_db_connections_ratio: 0.85,
            stale_after: Duration::from_secs(15),
            signal: Signal::Pending,
            evaluation_period: Duration::ZERO,
            latency_slo: LatencySlo::none(),
            min_marginal_gain: 0.0,
            knee_reprobe: Duration::from_secs(300),
            prescale_lead: Duration::from_secs(60),
        }
    }
}
