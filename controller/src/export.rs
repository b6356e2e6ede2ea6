//! The controller's Prometheus metrics. Every gauge is set on every tick, to 0 when drained, so a
//! series never disappears while the controller runs.

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use crate::{decide::Decision, measure::Snapshot};

/// Registers help texts; call once at start.
pub fn describe() {
    describe_gauge!(
        coin_shared::metric_names::QUEUE_BACKLOG_JOBS,
        Unit::Count,
        "Jobs ready to run, by queue."
    );
    describe_gauge!(
        coin_shared::metric_names::QUEUE_SCHEDULED_JOBS,
        Unit::Count,
        "Jobs scheduled for later, by queue."
    );
    describe_gauge!(
        coin_shared::metric_names::QUEUE_INFLIGHT_JOBS,
        Unit::Count,
        "Jobs running now, by queue."
    );
    describe_gauge!(
        coin_shared::metric_names::QUEUE_DEAD_JOBS,
        Unit::Count,
        "Jobs failed for good, by queue."
    );
    describe_gauge!(
        coin_shared::metric_names::QUEUE_ENQUEUE_RATE_JOBS_PER_SECOND,
        "Jobs arriving per second, all queues."
    );
    describe_gauge!(
        coin_shared::metric_names::QUEUE_COMPLETION_RATE_JOBS_PER_SECOND,
        "Jobs finishing per second, all queues."
    );
    describe_gauge!(
        coin_shared::metric_names::WORKER_REPLICAS,
        Unit::Count,
        "Worker replicas, current and desired."
    );
    describe_counter!(
        coin_shared::metric_names::CONTROLLER_DECISIONS_TOTAL,
        Unit::Count,
        "Controller decisions by action and reason."
    );
    describe_counter!(
        coin_shared::metric_names::CONTROLLER_FAILURES_TOTAL,
        Unit::Count,
        "Controller failures by the step that failed."
    );
    describe_histogram!(
        coin_shared::metric_names::CONTROLLER_TICK_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of one controller evaluation."
    );
    describe_gauge!(
        coin_shared::metric_names::HOST_CPU_USAGE_RATIO,
        "Host CPU usage, 0..1."
    );
    describe_gauge!(
        coin_shared::metric_names::HOST_MEMORY_USAGE_RATIO,
        "Host memory usage, 0..1."
    );
    describe_gauge!(
        coin_shared::metric_names::HOST_DISK_USAGE_RATIO,
        "Host disk usage, 0..1."
    );
    describe_gauge!(
        coin_shared::metric_names::HOST_LOAD_AVERAGE,
        "Host load average by window (1m, 5m, 15m)."
    );
    describe_gauge!(
        coin_shared::metric_names::DATABASE_CONNECTIONS,
        Unit::Count,
        "Postgres client connections, by state."
    );
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
            gauge!(coin_shared::metric_names::QUEUE_BACKLOG_JOBS, "queue" => queue.clone())
                .set(stats.backlog as f64);
            gauge!(coin_shared::metric_names::QUEUE_SCHEDULED_JOBS, "queue" => queue.clone())
                .set(stats.scheduled as f64);
            gauge!(coin_shared::metric_names::QUEUE_DEAD_JOBS, "queue" => queue.clone())
                .set(stats.dead as f64);
            if let Some(inflight) = stats.inflight {
                gauge!(coin_shared::metric_names::QUEUE_INFLIGHT_JOBS, "queue" => queue)
                    .set(inflight as f64);
            }
        }
    }
    if let Some(rates) = snapshot.rates {
        gauge!(coin_shared::metric_names::QUEUE_ENQUEUE_RATE_JOBS_PER_SECOND)
            .set(rates.enqueue_per_sec);
        gauge!(coin_shared::metric_names::QUEUE_COMPLETION_RATE_JOBS_PER_SECOND)
            .set(rates.completion_per_sec);
    }
    if let Some(current) = decision.current {
        gauge!(coin_shared::metric_names::WORKER_REPLICAS, "kind" => "current")
            .set(f64::from(current));
    }
    gauge!(coin_shared::metric_names::WORKER_REPLICAS, "kind" => "desired")
        .set(f64::from(decision.desired));
    counter!(
        coin_shared::metric_names::CONTROLLER_DECISIONS_TOTAL,
        "action" => decision.action.as_str(),
        "reason" => decision.reason.as_str()
    )
    .increment(1);
    if let Some(host) = snapshot.host {
        gauge!(coin_shared::metric_names::HOST_CPU_USAGE_RATIO).set(host.cpu_ratio);
        gauge!(coin_shared::metric_names::HOST_MEMORY_USAGE_RATIO).set(host.memory_ratio());
        gauge!(coin_shared::metric_names::HOST_DISK_USAGE_RATIO).set(host.disk_ratio());
        for (window, value) in ["1m", "5m", "15m"].into_iter().zip(host.load_averages) {
            gauge!(coin_shared::metric_names::HOST_LOAD_AVERAGE, "window" => window).set(value);
        }
    }
    if let Some(db) = snapshot.database {
        gauge!(coin_shared::metric_names::DATABASE_CONNECTIONS, "state" => "active")
            .set(db.active_connections as f64);
        gauge!(coin_shared::metric_names::DATABASE_CONNECTIONS, "state" => "total")
            .set(db.total_connections as f64);
        gauge!(coin_shared::metric_names::DATABASE_CONNECTIONS, "state" => "max")
            .set(db.max_connections as f64);
    }
}

/// Counts a failed step (`queues`, `database`, `scaler`, `record`, `retention`).
pub fn failure(step: &'static str) {
    counter!(coin_shared::metric_names::CONTROLLER_FAILURES_TOTAL, "step" => step).increment(1);
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
        histogram!(coin_shared::metric_names::CONTROLLER_TICK_DURATION_SECONDS)
            .record(self.0.elapsed().as_secs_f64());
    }
}
