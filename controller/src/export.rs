//! The controller's Prometheus metrics. Every gauge is set on every tick, to 0 when drained, so a
//! series never disappears while the controller runs.

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use coin_shared::metric_names as names;

use crate::{decide::Decision, measure::Snapshot};

/// What kind of series a metric is.
enum Kind {
    Gauge,
    Counter,
    Histogram,
}

/// Every metric the controller exports, with its unit and help text.
const DESCRIPTIONS: &[(Kind, &str, Option<Unit>, &str)] = &[
    (
        Kind::Gauge,
        names::QUEUE_BACKLOG_JOBS,
        Some(Unit::Count),
        "Jobs ready to run, by queue.",
    ),
    (
        Kind::Gauge,
        names::QUEUE_SCHEDULED_JOBS,
        Some(Unit::Count),
        "Jobs scheduled for later, by queue.",
    ),
    (
        Kind::Gauge,
        names::QUEUE_INFLIGHT_JOBS,
        Some(Unit::Count),
        "Jobs running now, by queue.",
    ),
    (
        Kind::Gauge,
        names::QUEUE_DEAD_JOBS,
        Some(Unit::Count),
        "Jobs failed for good, by queue.",
    ),
    (
        Kind::Gauge,
        names::QUEUE_LATENCY_SECONDS,
        Some(Unit::Seconds),
        "Age of the oldest job waiting to run (ready or due), by queue.",
    ),
    (
        Kind::Gauge,
        names::QUEUE_PAUSED,
        None,
        "1 while an operator has paused the queue, by queue.",
    ),
    (
        Kind::Gauge,
        names::QUEUE_ENQUEUE_RATE_JOBS_PER_SECOND,
        None,
        "Jobs arriving per second, all queues.",
    ),
    (
        Kind::Gauge,
        names::QUEUE_COMPLETION_RATE_JOBS_PER_SECOND,
        None,
        "Jobs finishing per second, all queues.",
    ),
    (
        Kind::Gauge,
        names::WORKER_REPLICAS,
        Some(Unit::Count),
        "Worker replicas, current and desired.",
    ),
    (
        Kind::Counter,
        names::CONTROLLER_DECISIONS_TOTAL,
        Some(Unit::Count),
        "Controller decisions by action and reason.",
    ),
    (
        Kind::Counter,
        names::CONTROLLER_FAILURES_TOTAL,
        Some(Unit::Count),
        "Controller failures by the step that failed.",
    ),
    (
        Kind::Histogram,
        names::CONTROLLER_TICK_DURATION_SECONDS,
        Some(Unit::Seconds),
        "Duration of one controller evaluation.",
    ),
    (
        Kind::Gauge,
        names::HOST_CPU_USAGE_RATIO,
        None,
        "Host CPU usage, 0..1.",
    ),
    (
        Kind::Gauge,
        names::HOST_MEMORY_USAGE_RATIO,
        None,
        "Host memory usage, 0..1.",
    ),
    (
        Kind::Gauge,
        names::HOST_DISK_USAGE_RATIO,
        None,
        "Host disk usage, 0..1.",
    ),
    (
        Kind::Gauge,
        names::HOST_LOAD_AVERAGE,
        None,
        "Host load average by window (1m, 5m, 15m).",
    ),
    (
        Kind::Gauge,
        names::DATABASE_CONNECTIONS,
        Some(Unit::Count),
        "Postgres client connections, by state.",
    ),
];

/// Registers help texts; call once at start.
pub fn describe() {
    for (kind, name, unit, help) in DESCRIPTIONS {
        match (kind, *unit) {
            (Kind::Gauge, Some(unit)) => describe_gauge!(*name, unit, *help),
            (Kind::Gauge, None) => describe_gauge!(*name, *help),
            (Kind::Counter, Some(unit)) => describe_counter!(*name, unit, *help),
            (Kind::Counter, None) => describe_counter!(*name, *help),
            (Kind::Histogram, Some(unit)) => describe_histogram!(*name, unit, *help),
            (Kind::Histogram, None) => describe_histogram!(*name, *help),
        }
    }
}

/// Publishes what a tick measured and decided.
pub fn publish(queues: &[&str], snapshot: &Snapshot, decision: &Decision) {
    for queue in queues {
        let stats = snapshot
            .queues
            .as_ref()
            .and_then(|q| q.by_queue.get(*queue))
            .copied();
        // Unmeasured queues keep their last value rather than falsely dropping to 0.
        if let Some(stats) = stats {
            let queue = (*queue).to_owned();
            gauge!(names::QUEUE_BACKLOG_JOBS, "queue" => queue.clone()).set(stats.backlog as f64);
            gauge!(names::QUEUE_SCHEDULED_JOBS, "queue" => queue.clone())
                .set(stats.scheduled as f64);
            gauge!(names::QUEUE_DEAD_JOBS, "queue" => queue.clone()).set(stats.dead as f64);
            gauge!(names::QUEUE_LATENCY_SECONDS, "queue" => queue.clone()).set(stats.latency_secs);
            gauge!(names::QUEUE_PAUSED, "queue" => queue.clone()).set(if stats.paused {
                1.0
            } else {
                0.0
            });
            if let Some(inflight) = stats.inflight {
                gauge!(names::QUEUE_INFLIGHT_JOBS, "queue" => queue).set(inflight as f64);
            }
        }
    }
    if let Some(rates) = snapshot.rates {
        gauge!(names::QUEUE_ENQUEUE_RATE_JOBS_PER_SECOND).set(rates.enqueue_per_sec);
        gauge!(names::QUEUE_COMPLETION_RATE_JOBS_PER_SECOND).set(rates.completion_per_sec);
    }
    if let Some(current) = decision.current {
        gauge!(names::WORKER_REPLICAS, "kind" => "current").set(f64::from(current));
    }
    gauge!(names::WORKER_REPLICAS, "kind" => "desired").set(f64::from(decision.desired));
    counter!(
        names::CONTROLLER_DECISIONS_TOTAL,
        "action" => decision.action.as_str(),
        "reason" => decision.reason.as_str()
    )
    .increment(1);
    if let Some(host) = snapshot.host {
        gauge!(names::HOST_CPU_USAGE_RATIO).set(host.cpu_ratio);
        gauge!(names::HOST_MEMORY_USAGE_RATIO).set(host.memory_ratio());
        gauge!(names::HOST_DISK_USAGE_RATIO).set(host.disk_ratio());
        for (window, value) in ["1m", "5m", "15m"].into_iter().zip(host.load_averages) {
            gauge!(names::HOST_LOAD_AVERAGE, "window" => window).set(value);
        }
    }
    if let Some(db) = snapshot.database {
        gauge!(names::DATABASE_CONNECTIONS, "state" => "active").set(db.active_connections as f64);
        gauge!(names::DATABASE_CONNECTIONS, "state" => "total").set(db.total_connections as f64);
        gauge!(names::DATABASE_CONNECTIONS, "state" => "max").set(db.max_connections as f64);
    }
}

/// Counts a failed step (`queues`, `database`, `scaler`, `record`, `retention`).
pub fn failure(step: &'static str) {
    counter!(names::CONTROLLER_FAILURES_TOTAL, "step" => step).increment(1);
}

/// Records the duration of one tick when dropped.
pub struct TickTimer(std::time::Instant);

impl TickTimer {
    /// Starts timing.
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }
}

impl Drop for TickTimer {
    fn drop(&mut self) {
        histogram!(names::CONTROLLER_TICK_DURATION_SECONDS).record(self.0.elapsed().as_secs_f64());
    }
}
