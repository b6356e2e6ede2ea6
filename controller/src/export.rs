//! The controller's Prometheus metrics. Every gauge is set on every tick, to 0 when drained, so a
//! series never disappears while the controller runs.

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use crate::{decide::Decision, measure::Snapshot};

/// Registers help texts; call once at start.
pub fn describe() {
    describe_gauge!(
        "coin_queue_backlog_jobs",
        Unit::Count,
        "Jobs ready to run, by queue."
    );
    describe_gauge!(
        "coin_queue_scheduled_jobs",
        Unit::Count,
        "Jobs scheduled for later, by queue."
    );
    describe_gauge!(
        "coin_queue_inflight_jobs",
        Unit::Count,
        "Jobs running now, by queue."
    );
    describe_gauge!(
        "coin_queue_dead_jobs",
        Unit::Count,
        "Jobs failed for good, by queue."
    );
    describe_gauge!(
        "coin_queue_enqueue_rate_jobs_per_second",
        "Jobs arriving per second, all queues."
    );
    describe_gauge!(
        "coin_queue_completion_rate_jobs_per_second",
        "Jobs finishing per second, all queues."
    );
    describe_gauge!(
        "coin_worker_replicas",
        Unit::Count,
        "Worker replicas, current and desired."
    );
    describe_counter!(
        "coin_controller_decisions_total",
        Unit::Count,
        "Controller decisions by action and reason."
    );
    describe_counter!(
        "coin_controller_failures_total",
        Unit::Count,
        "Controller failures by the step that failed."
    );
    describe_histogram!(
        "coin_controller_tick_duration_seconds",
        Unit::Seconds,
        "Duration of one controller evaluation."
    );
    describe_gauge!("coin_host_cpu_usage_ratio", "Host CPU usage, 0..1.");
    describe_gauge!("coin_host_memory_usage_ratio", "Host memory usage, 0..1.");
    describe_gauge!("coin_host_disk_usage_ratio", "Host disk usage, 0..1.");
    describe_gauge!(
        "coin_host_load_average",
        "Host load average by window (1m, 5m, 15m)."
    );
    describe_gauge!(
        "coin_database_connections",
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
            gauge!("coin_queue_backlog_jobs", "queue" => queue.clone()).set(stats.backlog as f64);
            gauge!("coin_queue_scheduled_jobs", "queue" => queue.clone())
                .set(stats.scheduled as f64);
            gauge!("coin_queue_dead_jobs", "queue" => queue.clone()).set(stats.dead as f64);
            if let Some(inflight) = stats.inflight {
                gauge!("coin_queue_inflight_jobs", "queue" => queue).set(inflight as f64);
            }
        }
    }
    if let Some(rates) = snapshot.rates {
        gauge!("coin_queue_enqueue_rate_jobs_per_second").set(rates.enqueue_per_sec);
        gauge!("coin_queue_completion_rate_jobs_per_second").set(rates.completion_per_sec);
    }
    if let Some(current) = decision.current {
        gauge!("coin_worker_replicas", "kind" => "current").set(f64::from(current));
    }
    gauge!("coin_worker_replicas", "kind" => "desired").set(f64::from(decision.desired));
    counter!(
        "coin_controller_decisions_total",
        "action" => decision.action.as_str(),
        "reason" => decision.reason.as_str()
    )
    .increment(1);
    if let Some(host) = snapshot.host {
        gauge!("coin_host_cpu_usage_ratio").set(host.cpu_ratio);
        gauge!("coin_host_memory_usage_ratio").set(host.memory_ratio());
        gauge!("coin_host_disk_usage_ratio").set(host.disk_ratio());
        for (window, value) in ["1m", "5m", "15m"].into_iter().zip(host.load_averages) {
            gauge!("coin_host_load_average", "window" => window).set(value);
        }
    }
    if let Some(db) = snapshot.database {
        gauge!("coin_database_connections", "state" => "active").set(db.active_connections as f64);
        gauge!("coin_database_connections", "state" => "total").set(db.total_connections as f64);
        gauge!("coin_database_connections", "state" => "max").set(db.max_connections as f64);
    }
}

/// Counts a failed step (`queues`, `database`, `scaler`, `record`, `retention`).
pub fn failure(step: &'static str) {
    counter!("coin_controller_failures_total", "step" => step).increment(1);
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
        histogram!("coin_controller_tick_duration_seconds").record(self.0.elapsed().as_secs_f64());
    }
}
