//! The figures of one autoscale run, computed from its per-second series: pure functions,
//! unit-tested, so what the report says is what was sampled.

/// One sampled second of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Second {
    /// Seconds since the trace started.
    pub t: u64,
    /// Jobs the API accepted during this second.
    pub arrivals: u64,
    /// Goodwill jobs waiting (ready or due) at the sample.
    pub backlog: u64,
    /// Goodwill jobs held by workers (running, prefetched or waiting for a token).
    pub inflight: u64,
    /// Age of the oldest waiting goodwill job at the sample, s.
    pub oldest_secs: f64,
    /// Highest enqueue → commit latency among the jobs committed during this second, s.
    pub committed_max_secs: f64,
    /// Worker processes alive at the sample.
    pub replicas: u32,
}

impl Second {
    /// The goodwill latency of this second: the oldest waiting job's age or the slowest job
    /// committed in it, whichever is higher (a job held by a worker is not waiting in the queue
    /// but its latency shows once it commits).
    pub fn latency_secs(&self) -> f64 {
        self.oldest_secs.max(self.committed_max_secs)
    }
}

/// Seconds whose latency was above `slo_secs`.
pub fn breach_secs(series: &[Second], slo_secs: f64) -> u64 {
    series
        .iter()
        .filter(|s| s.latency_secs() > slo_secs)
        .count() as u64
}

/// Replicas summed over the seconds before `until` (what the fleet cost during the trace).
pub fn replica_secs(series: &[Second], until: u64) -> u64 {
    series
        .iter()
        .filter(|s| s.t < until)
        .map(|s| u64::from(s.replicas))
        .sum()
}

/// Most replicas at once.
pub fn max_replicas(series: &[Second]) -> u32 {
    series.iter().map(|s| s.replicas).max().unwrap_or(0)
}

/// Times the fleet's direction reversed: a rise after a fall or a fall after a rise (seconds
/// without change do not break a direction).
pub fn direction_changes(replicas: impl IntoIterator<Item = u32>) -> u32 {
    let mut previous: Option<u32> = None;
    let mut rising: Option<bool> = None;
    let mut changes = 0;
    for r in replicas {
        if let Some(p) = previous
            && p != r
        {
            let up = r > p;
            if rising.is_some_and(|was| was != up) {
                changes += 1;
            }
            rising = Some(up);
        }
        previous = Some(r);
    }
    changes
}

/// A change of the trace that needs another fleet size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Second of the trace it happens at.
    pub at_secs: u64,
    /// Replicas the new rate needs (rate / per-replica throughput, rounded up, within bounds).
    pub needed: u32,
    /// Whether the rate rose.
    pub up: bool,
}

/// How long the fleet took to follow a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Followed {
    /// The step.
    pub step: Step,
    /// Seconds from the step to the first second with at least (up) or at most (down) the
    /// replicas it needs, before the next step; `None`: not within that time.
    pub after_secs: Option<u64>,
}

/// For each step, the seconds until the fleet had the replicas it needs.
pub fn time_to_replicas(series: &[Second], steps: &[Step]) -> Vec<Followed> {
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let until = steps.get(i + 1).map_or(u64::MAX, |next| next.at_secs);
            let after_secs = series
                .iter()
                .filter(|s| s.t >= step.at_secs && s.t < until)
                .find(|s| {
                    if step.up {
                        s.replicas >= step.needed
                    } else {
                        s.replicas <= step.needed
                    }
                })
                .map(|s| s.t - step.at_secs);
            Followed {
                step: *step,
                after_secs,
            }
        })
        .collect()
}

/// The `q` quantile (0..=1) of `sorted` (nearest rank); 0 when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    sorted
        .get(((last as f64) * q.clamp(0.0, 1.0)).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use crate::autoscale::metrics::{
        Followed, Second, Step, breach_secs, direction_changes, max_replicas, quantile,
        replica_secs, time_to_replicas,
    };

    fn series(replicas: &[u32]) -> Vec<Second> {
        replicas
            .iter()
            .enumerate()
            .map(|(t, &replicas)| Second {
                t: t as u64,
                replicas,
                ..Second::default()
            })
            .collect()
    }

    #[test]
    fn replica_seconds_sum_the_fleet_over_the_trace_only() {
        let s = series(&[1, 1, 3, 5, 5, 2, 9]);
        assert_eq!(replica_secs(&s, 6), 1 + 1 + 3 + 5 + 5 + 2);
        assert_eq!(replica_secs(&s, 100), 26);
        assert_eq!(max_replicas(&s), 9);
        assert_eq!((replica_secs(&[], 10), max_replicas(&[])), (0, 0));
    }

    #[test]
    fn a_direction_change_is_a_reversal_not_a_pause() {
        assert_eq!(direction_changes([1, 2, 2, 4, 4, 4, 6]), 0);
        assert_eq!(direction_changes([1, 4, 4, 2, 1]), 1);
        assert_eq!(direction_changes([1, 3, 2, 5, 1, 1, 1]), 3);
        assert_eq!(direction_changes([]), 0);
        assert_eq!(direction_changes([7]), 0);
    }

    #[test]
    fn a_breach_second_counts_the_queue_or_the_commits_whichever_is_worse() {
        let mut s = series(&[1, 1, 1, 1]);
        s[0].oldest_secs = 6.0; // the queue's oldest job is late
        s[1].committed_max_secs = 7.5; // a job held by a worker committed late
        s[2].oldest_secs = 5.0; // exactly at the SLO is not above it
        s[3].committed_max_secs = 1.0;
        assert_eq!(breach_secs(&s, 5.0), 2);
        assert_eq!(breach_secs(&s, 10.0), 0);
    }

    #[test]
    fn time_to_replicas_looks_from_each_step_to_the_next() {
        //              t: 0  1  2  3  4  5  6  7  8  9
        let s = series(&[1, 1, 1, 2, 4, 8, 8, 8, 6, 4]);
        let up = Step {
            at_secs: 2,
            needed: 8,
            up: true,
        };
        let down = Step {
            at_secs: 6,
            needed: 1,
            up: false,
        };
        assert_eq!(
            time_to_replicas(&s, &[up, down]),
            vec![
                Followed {
                    step: up,
                    after_secs: Some(3)
                },
                Followed {
                    step: down,
                    after_secs: None
                }
            ]
        );
        // A step the fleet never reached before the next one is `None` too.
        let never = Step {
            at_secs: 0,
            needed: 9,
            up: true,
        };
        assert_eq!(time_to_replicas(&s, &[never])[0].after_secs, None);
    }

    #[test]
    fn quantiles_are_nearest_rank_and_empty_is_zero() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&sorted, 0.5), 51.0);
        assert_eq!(quantile(&sorted, 0.99), 99.0);
        assert_eq!(quantile(&sorted, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.99), 0.0);
    }
}
