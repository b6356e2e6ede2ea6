//! What a trace asks of the harness: the instant each job is to be posted (the trace's rate
//! integrated), and the steps at which the fleet needs another size. The traces themselves are
//! the simulator's (`coin_controller::simulate::trace`), so the harness and the simulator
//! drive the same arrivals.

use std::time::Duration;

use coin_controller::simulate::trace::{Shape, Trace};

use crate::autoscale::metrics::Step;

/// Resolution of the integration, s.
const DT: f64 = 0.01;

/// `shape` between `base` and `peak` jobs/s, its day compressed into `minutes`.
pub fn trace(shape: Shape, base: f64, peak: f64, minutes: f64) -> Trace {
    Trace {
        shape,
        base,
        peak,
        compression: 86_400.0 / (minutes * 60.0).max(1.0),
    }
}

/// The shape `--trace` names.
pub fn shape(name: &str) -> Option<Shape> {
    Shape::ALL
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(name.trim()))
}

/// Offsets from the start at which the jobs of the trace are due: job `k` when the integral
/// of the rate reaches `k + 1`.
pub fn due_times(trace: &Trace) -> Vec<Duration> {
    let secs = trace.duration_secs() as f64;
    let mut due = Vec::new();
    let (mut t, mut arrived) = (0.0, 0.0);
    while t < secs {
        arrived += trace.rate_at(t) * DT;
        t += DT;
        while (due.len() as f64) + 1.0 <= arrived {
            due.push(Duration::from_secs_f64(t));
        }
    }
    due
}

/// Replicas `rate` needs at `per_replica` jobs/s each, within `min..=max`.
pub fn needed(rate: f64, per_replica: f64, min: u32, max: u32) -> u32 {
    let n = (rate / per_replica.max(1e-9)).ceil();
    (n.clamp(0.0, f64::from(u32::MAX)) as u32).clamp(min, max.max(min))
}

/// The seconds at which the rate jumps (by more than a quarter of `peak - base` from one
/// second to the next) to a rate that needs another fleet size: the step and the bursts;
/// smooth traces (sine, diurnal) have none.
pub fn steps(trace: &Trace, per_replica: f64, min: u32, max: u32) -> Vec<Step> {
    let jump = (trace.peak - trace.base).abs() / 4.0;
    let need = |t: u64| needed(trace.rate_at(t as f64), per_replica, min, max);
    (1..trace.duration_secs())
        .filter(|&t| (trace.rate_at(t as f64) - trace.rate_at((t - 1) as f64)).abs() > jump)
        .filter(|&t| need(t) != need(t - 1))
        .map(|t| Step {
            at_secs: t,
            needed: need(t),
            up: need(t) > need(t - 1),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use coin_controller::simulate::trace::Shape;

    use crate::autoscale::{
        metrics::Step,
        schedule::{due_times, needed, shape, steps, trace},
    };

    #[test]
    fn the_due_times_follow_the_rate_of_the_trace() {
        // Two minutes of the step trace: 30 s at 10/s, 60 s at 100/s, 30 s at 10/s.
        let step = trace(Shape::Step, 10.0, 100.0, 2.0);
        assert_eq!(step.duration_secs(), 120);
        let due = due_times(&step);
        let within = |from: f64, to: f64| {
            due.iter()
                .filter(|d| (from..to).contains(&d.as_secs_f64()))
                .count() as f64
        };
        assert!(
            (within(0.0, 30.0) - 300.0).abs() <= 2.0,
            "{}",
            within(0.0, 30.0)
        );
        assert!((within(30.0, 90.0) - 6_000.0).abs() <= 2.0);
        assert!((due.len() as f64 - 6_600.0).abs() <= 2.0, "{}", due.len());
        assert!(due.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn the_step_trace_has_one_step_up_and_one_down() {
        let step = trace(Shape::Step, 25.0, 400.0, 2.0);
        assert_eq!(
            steps(&step, 50.0, 1, 10),
            vec![
                Step {
                    at_secs: 30,
                    needed: 8,
                    up: true
                },
                Step {
                    at_secs: 90,
                    needed: 1,
                    up: false
                }
            ]
        );
        assert!(steps(&trace(Shape::Sine, 25.0, 400.0, 2.0), 50.0, 1, 10).is_empty());
    }

    #[test]
    fn the_burst_trace_has_six_bursts_of_a_twelfth_of_their_period() {
        // The day in 10 minutes: every 100 s, 8.3 s at the peak from the middle of the period.
        let burst = trace(Shape::Burst, 25.0, 400.0, 10.0);
        let found = steps(&burst, 50.0, 1, 10);
        let ups: Vec<u64> = found.iter().filter(|s| s.up).map(|s| s.at_secs).collect();
        let downs: Vec<u64> = found.iter().filter(|s| !s.up).map(|s| s.at_secs).collect();
        assert_eq!(ups, vec![50, 150, 250, 350, 450, 550]);
        assert_eq!(downs, vec![59, 159, 259, 359, 459, 559]);
        assert!(found.iter().filter(|s| s.up).all(|s| s.needed == 8));
    }

    #[test]
    fn needed_replicas_round_up_within_the_bounds() {
        assert_eq!(needed(400.0, 50.0, 1, 10), 8);
        assert_eq!(needed(401.0, 50.0, 1, 10), 9);
        assert_eq!(needed(0.0, 50.0, 1, 10), 1);
        assert_eq!(needed(5_000.0, 50.0, 1, 10), 10);
        assert_eq!(shape("Burst"), Some(Shape::Burst));
        assert_eq!(shape("ramp"), None);
    }
}
