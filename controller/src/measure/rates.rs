//! Arrival and completion rates, derived from two successive queue snapshots.

use serde::Serialize;

use super::queues::QueueTotals;

/// Jobs per second between two snapshots, summed over queues.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    /// Seconds between the two snapshots.
    pub window_secs: f64,
    /// Jobs that arrived per second: finished plus the growth of what is still pending.
    pub enqueue_per_sec: f64,
    /// Jobs finished (done or dead) per second.
    pub completion_per_sec: f64,
    /// Whether work was waiting during the whole window, so the completion rate measured the
    /// workers' capacity rather than the arrivals.
    pub saturated: bool,
}

impl Rates {
    /// Rates from `previous` to `current` over the queues not paused now (a paused queue's
    /// arrivals are not work the workers can take); `None` when the window is empty or a
    /// counter went backwards (a purge or a new backend), which would make the deltas
    /// meaningless.
    pub fn between(previous: &QueueTotals, current: &QueueTotals) -> Option<Self> {
        let current = &current.unpaused();
        let previous = &QueueTotals {
            measured_at: previous.measured_at,
            by_queue: previous
                .by_queue
                .iter()
                .filter(|(name, _)| current.by_queue.contains_key(*name))
                .map(|(name, q)| (name.clone(), *q))
                .collect(),
        };
        let window = (current.measured_at - previous.measured_at).as_seconds_f64();
        if window <= 0.0 {
            return None;
        }
        let finished_before = previous.done() + previous.dead();
        let finished_now = current.done() + current.dead();
        let finished = finished_now.checked_sub(finished_before)? as f64;
        let pending_growth = current.pending() as f64 - previous.pending() as f64;
        Some(Self {
            window_secs: window,
            enqueue_per_sec: ((finished + pending_growth) / window).max(0.0),
            completion_per_sec: finished / window,
            saturated: previous.backlog() > 0 && current.backlog() > 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{DateTime, TimeDelta};

    use crate::measure::{
        queues::{QueueStats, QueueTotals},
        rates::Rates,
    };

    fn totals(seconds: i64, backlog: u64, done: u64) -> QueueTotals {
        let mut by_queue = BTreeMap::new();
        by_queue.insert(
            "goodwill".to_owned(),
            QueueStats {
                backlog,
                done,
                ..QueueStats::default()
            },
        );
        QueueTotals {
            measured_at: DateTime::UNIX_EPOCH + TimeDelta::seconds(seconds),
            by_queue,
        }
    }

    #[test]
    fn arrivals_count_completions_plus_backlog_growth() {
        let rates = Rates::between(&totals(0, 100, 0), &totals(10, 300, 500)).expect("rates");
        assert_eq!(rates.completion_per_sec, 50.0);
        assert_eq!(rates.enqueue_per_sec, 70.0);
        assert!(rates.saturated);
    }

    #[test]
    fn a_paused_queues_arrivals_are_not_counted() {
        let mut before = totals(0, 100, 0);
        let mut after = totals(10, 300, 500);
        for (t, backlog) in [(&mut before, 0), (&mut after, 5_000)] {
            t.by_queue.insert(
                "votes".to_owned(),
                QueueStats {
                    backlog,
                    paused: true,
                    ..QueueStats::default()
                },
            );
        }
        let rates = Rates::between(&before, &after).expect("rates");
        assert_eq!(
            rates.enqueue_per_sec, 70.0,
            "votes' 5,000 new jobs wait paused"
        );
    }

    #[test]
    fn a_done_counter_going_backwards_gives_no_rates() {
        assert!(Rates::between(&totals(0, 0, 500), &totals(5, 0, 10)).is_none());
    }

    #[test]
    fn an_empty_backlog_means_the_workers_were_not_saturated() {
        let rates = Rates::between(&totals(0, 0, 0), &totals(5, 10, 50)).expect("rates");
        assert!(!rates.saturated);
    }
}
