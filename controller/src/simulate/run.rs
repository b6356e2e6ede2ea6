//! The discrete-time loop: every second jobs arrive and the working replicas take them; every
//! interval a synthetic snapshot goes through `observe` → `decide` → scale → `record`, as in
//! the control loop.

use std::{collections::BTreeMap, collections::VecDeque, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    decide::{Action, History, Policy, decide},
    measure::{QueueStats, QueueTotals, Rates, Snapshot},
    simulate::{
        fleet::{Fleet, Replicas},
        report::{Recorder, Report},
        trace::Trace,
    },
};

/// The queue every simulated job goes to.
const QUEUE: &str = "goodwill";

/// One run: a trace against a fleet under a policy.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Arrivals.
    pub trace: Trace,
    /// The replicas' capacity and startup.
    pub fleet: Fleet,
    /// The decision policy (a preset's).
    pub policy: Policy,
    /// Seconds between evaluations (`CONTROLLER_INTERVAL`).
    pub interval_secs: u64,
    /// The latency SLO the report counts seconds above.
    pub slo_secs: f64,
}

/// Jobs waiting, oldest first, as (arrival second, jobs).
#[derive(Debug, Default)]
struct Queue {
    waiting: VecDeque<(u64, f64)>,
    total: f64,
    done: f64,
}

impl Queue {
    fn arrive(&mut self, at: u64, jobs: f64) {
        if jobs > 0.0 {
            self.waiting.push_back((at, jobs));
            self.total += jobs;
        }
    }

    /// Takes up to `capacity` jobs from the head; returns how many.
    fn serve(&mut self, capacity: f64) -> f64 {
        let mut left = capacity;
        while left > 0.0 {
            let Some(front) = self.waiting.front_mut() else {
                break;
            };
            let taken = front.1.min(left);
            front.1 -= taken;
            left -= taken;
            if front.1 <= 1e-9 {
                self.waiting.pop_front();
            }
        }
        let served = capacity - left;
        self.total = (self.total - served).max(0.0);
        self.done += served;
        served
    }

    /// Age of the oldest waiting job at `now`.
    fn latency(&self, now: u64) -> f64 {
        self.waiting
            .front()
            .map_or(0.0, |(at, _)| (now + 1 - at) as f64)
    }
}

/// Runs `scenario` from an idle queue at the policy's minimum; deterministic.
pub fn run(scenario: &Scenario) -> Report {
    let policy = &scenario.policy;
    let seconds = scenario.trace.duration_secs();
    let start = DateTime::<Utc>::UNIX_EPOCH;
    let keep = policy
        .scale_down_stabilization
        .max(policy.scale_up_stabilization)
        .max(policy.scale_up_period);
    let mut history = History::new(start);
    let mut replicas = Replicas::working(policy.min_replicas);
    let mut queue = Queue::default();
    let mut recorder = Recorder::new(scenario.slo_secs, seconds);
    let mut previous: Option<Snapshot> = None;
    for t in 0..seconds {
        queue.arrive(t, scenario.trace.rate_at(t as f64));
        let working = replicas.working_at(t);
        let served = queue.serve(scenario.fleet.capacity(working));
        recorder.second(queue.latency(t), replicas.provisioned());
        if t % scenario.interval_secs.max(1) != 0 {
            continue;
        }
        let at = start + TimeDelta::seconds(i64::try_from(t + 1).unwrap_or(i64::MAX));
        let snapshot = snapshot(&queue, served, working, &replicas, at, previous.as_ref(), t);
        history.observe(previous.as_ref(), &snapshot);
        let decision = decide(&snapshot, &history, policy, at);
        let applied = decision.action != Action::Hold;
        if applied {
            recorder.scaled(decision.action == Action::ScaleUp);
            replicas.scale_to(decision.desired, t, &scenario.fleet);
        }
        history.record(&decision, applied, keep.max(policy.knee_reprobe));
        previous = Some(snapshot);
    }
    recorder.finish()
}

/// What the controller would measure at `at`.
fn snapshot(
    queue: &Queue,
    served: f64,
    working: u32,
    replicas: &Replicas,
    at: DateTime<Utc>,
    previous: Option<&Snapshot>,
    t: u64,
) -> Snapshot {
    let backlog = queue.total.round() as u64;
    let stats = QueueStats {
        backlog,
        ready: Some(backlog),
        inflight: Some(served.ceil() as u64),
        live_workers: Some(u64::from(working)),
        done: queue.done.round() as u64,
        latency_secs: queue.latency(t),
        ..QueueStats::default()
    };
    let queues = QueueTotals {
        measured_at: at,
        by_queue: BTreeMap::from([(QUEUE.to_owned(), stats)]),
    };
    let rates = previous
        .and_then(|p| p.queues.as_ref())
        .and_then(|before| Rates::between(before, &queues));
    Snapshot {
        at,
        queues: Some(queues),
        rates,
        host: None,
        database: None,
        current_replicas: Some(replicas.provisioned()),
        scheduled: None,
    }
}

/// The policy settings give by default (`ControllerSettings::policy` with no variables set)
/// for up to `max_replicas`, before a preset applies.
pub fn default_configured(max_replicas: u32) -> Policy {
    Policy {
        max_replicas,
        latency_slo: crate::decide::LatencySlo::every_queue(Duration::from_secs(30)),
        min_marginal_gain: 0.1,
        knee_reprobe: Duration::from_secs(300),
        scale_down_stabilization: Duration::from_secs(
            crate::decide::COIN_SCALE_DOWN_STABILIZATION_SECS,
        ),
        scale_up_pods: crate::decide::COIN_SCALE_UP_PODS,
        ..Policy::default()
    }
}
