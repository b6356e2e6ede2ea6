//! The controller's Prometheus metrics. Every gauge is set on every tick, to 0 when drained, so a
//! series never disappears while the controller runs.

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use coin_shared::metric_names as names;

use crate::{
    decide::Decision,
    measure::{DatabaseMetrics, HostMetrics, Rates, Snapshot},
};

/// Registers the help text (and unit) of every metric the controller exports; call once at
/// start. One line a metric: its kind, its name in `coin_shared::metric_names`, its unit if it
/// has one, its help text.
macro_rules! describe_all {
    ($($kind:ident $name:ident $([$unit:ident])? $help:literal;)*) => {$(
        describe_all!(@one $kind names::$name $(, Unit::$unit)?, $help);
    )*};
    (@one gauge $($args:tt)*) => { describe_gauge!($($args)*) };
    (@one counter $($args:tt)*) => { describe_counter!($($args)*) };
    (@one histogram $($args:tt)*) => { describe_histogram!($($args)*) };
}

/// Registers help texts; call once at start.
pub fn describe() {
    describe_all! {
        gauge QUEUE_BACKLOG_JOBS [Count] "Jobs ready to run, by queue.";
        gauge QUEUE_SCHEDULED_JOBS [Count] "Jobs scheduled for later, by queue.";
        gauge QUEUE_INFLIGHT_JOBS [Count] "Jobs running now, by queue.";
        gauge QUEUE_DEAD_JOBS [Count] "Jobs failed for good, by queue.";
        gauge QUEUE_LATENCY_SECONDS [Seconds] "Age of the oldest job waiting to run (ready or due), by queue.";
        gauge QUEUE_PAUSED "1 while an operator has paused the queue, by queue.";
        gauge QUEUE_ENQUEUE_RATE_JOBS_PER_SECOND "Jobs arriving per second, all queues.";
        gauge QUEUE_COMPLETION_RATE_JOBS_PER_SECOND "Jobs finishing per second, all queues.";
        gauge WORKER_REPLICAS [Count] "Worker replicas, current and desired, by pool.";
        counter CONTROLLER_DECISIONS_TOTAL [Count] "Controller decisions by pool, action and reason.";
        counter CONTROLLER_FAILURES_TOTAL [Count] "Controller failures by the step that failed.";
        histogram CONTROLLER_TICK_DURATION_SECONDS [Seconds] "Duration of one controller evaluation.";
        gauge HOST_CPU_USAGE_RATIO "Host CPU usage, 0..1.";
        gauge HOST_MEMORY_USAGE_RATIO "Host memory usage, 0..1.";
        gauge HOST_DISK_USAGE_RATIO "Host disk usage, 0..1.";
        gauge HOST_LOAD_AVERAGE "Host load average by window (1m, 5m, 15m).";
        gauge DATABASE_CONNECTIONS [Count] "Postgres client connections, by state.";
    }
}

/// Publishes what one pool's tick measured and decided: the gauges of its `queues` and its
/// replicas and decisions under its `pool` label.
pub fn publish(pool: &str, queues: &[&str], snapshot: &Snapshot, decision: &Decision) {
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
    let pool = pool.to_owned();
    if let Some(current) = decision.current {
        gauge!(names::WORKER_REPLICAS, "kind" => "current", "pool" => pool.clone())
            .set(f64::from(current));
    }
    gauge!(names::WORKER_REPLICAS, "kind" => "desired", "pool" => pool.clone())
        .set(f64::from(decision.desired));
    counter!(
        names::CONTROLLER_DECISIONS_TOTAL,
        "action" => decision.action.as_str(),
        "reason" => decision.reason.as_str(),
        "pool" => pool
    )
    .increment(1);
}

/// Publishes what a tick measured once for every pool: the rates of all queues, the host and
/// Postgres.
pub fn publish_system(
    rates: Option<Rates>,
    host: Option<HostMetrics>,
    database: Option<DatabaseMetrics>,
) {
    if let Some(rates) = rates {
        gauge!(names::QUEUE_ENQUEUE_RATE_JOBS_PER_SECOND).set(rates.enqueue_per_sec);
        gauge!(names::QUEUE_COMPLETION_RATE_JOBS_PER_SECOND).set(rates.completion_per_sec);
    }
    if let Some(host) = host {
        gauge!(names::HOST_CPU_USAGE_RATIO).set(host.cpu_ratio);
        gauge!(names::HOST_MEMORY_USAGE_RATIO).set(host.memory_ratio());
        gauge!(names::HOST_DISK_USAGE_RATIO).set(host.disk_ratio());
        for (window, value) in ["1m", "5m", "15m"].into_iter().zip(host.load_averages) {
            gauge!(names::HOST_LOAD_AVERAGE, "window" => window).set(value);
        }
    }
    if let Some(db) = database {
        gauge!(names::DATABASE_CONNECTIONS, "state" => "active").set(db.active_connections as f64);
        gauge!(names::DATABASE_CONNECTIONS, "state" => "total").set(db.total_connections as f64);
        gauge!(names::DATABASE_CONNECTIONS, "state" => "max").set(db.max_connections as f64);
    }
}

/// Counts a failed step (`queues`, `database`, `scheduled`, `scaler`, `record`, `retention`).
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

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use coin_shared::metric_names as names;
    use metrics::{counter, gauge, histogram};

    use crate::export::describe;

    #[test]
    fn every_kind_of_metric_is_rendered_with_its_help_text_and_type() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe();
            gauge!(names::QUEUE_LATENCY_SECONDS, "queue" => "goodwill").set(1.5);
            counter!(names::CONTROLLER_DECISIONS_TOTAL).increment(1);
            histogram!(names::CONTROLLER_TICK_DURATION_SECONDS).record(0.01);
        });
        let text = handle.render();
        for line in [
            "# HELP coin_queue_latency_seconds Age of the oldest job waiting to run",
            "# TYPE coin_queue_latency_seconds gauge",
            "# HELP coin_controller_decisions_total Controller decisions by pool, action and reason.",
            "# TYPE coin_controller_decisions_total counter",
            "# HELP coin_controller_tick_duration_seconds Duration of one controller evaluation.",
        ] {
            assert!(text.contains(line), "{line:?} missing in:\n{text}");
        }
    }
}
