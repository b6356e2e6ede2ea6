//! The last hour of the loop, one point a tick, for the console's chart: kept in memory as the
//! loop ticks, and read back from `controller_actions` (which records every tick) when the
//! controller starts, so a restart does not blank the chart. Both sources go through
//! [`Timeline::push`], which marks the ticks whose decision changed something (the chart's
//! markers, each opening its reason and notes).

use std::{collections::VecDeque, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

use crate::{
    decide::{Decision, Reason},
    measure::Snapshot,
};

/// How far back the chart reaches.
pub const SPAN: Duration = Duration::from_secs(3_600);

/// One tick, as the chart draws it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// When (seconds since the epoch, as uPlot takes time).
    pub at: f64,
    /// Jobs ready to run, all queues; `None` when Redis did not answer.
    pub backlog: Option<u64>,
    /// Age in seconds of the oldest waiting job, any queue.
    pub latency_secs: Option<f64>,
    /// Replicas the scaler reported.
    pub current: Option<u32>,
    /// Replicas the decision wanted.
    pub desired: u32,
    /// The decision's reason.
    pub reason: String,
    /// The decision's notes, one sentence per rule that fired (not in the chart's JSON: its
    /// marker's entry shows them).
    #[serde(skip)]
    pub notes: Vec<String>,
    /// The `controller_actions` row that recorded it, when recording worked.
    #[serde(skip)]
    pub id: Option<i64>,
    /// When this tick is a decision that changed something (see [`is_decision`]): the id of its
    /// entry under the chart, `mark-<milliseconds since the epoch>`. Set by [`Timeline::push`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
}

fn seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1_000.0
}

impl Point {
    /// The point of one tick, recorded as row `id` when recording worked.
    pub fn of(snapshot: &Snapshot, decision: &Decision, id: Option<i64>) -> Self {
        let queues = snapshot.queues.as_ref();
        Self {
            at: seconds(decision.at),
            backlog: queues.map(|q| q.backlog()),
            latency_secs: queues.map(|q| {
                q.by_queue
                    .values()
                    .map(|s| s.latency_secs)
                    .fold(0.0, f64::max)
            }),
            current: decision.current,
            desired: decision.desired,
            reason: decision.reason.as_str().to_owned(),
            notes: decision.notes.clone(),
            id,
            mark: None,
        }
    }

    /// When, as a time (`None` only for an instant chrono cannot hold).
    pub fn time(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis((self.at * 1e3).round() as i64)
    }
}

/// Whether `point` is a decision that changed something, given the tick before it: the desired
/// replicas moved, or the reason did (a guard, a limit or a stabilization window started or
/// stopped holding the count; the routine reasons count as one). A hold for the same reason
/// tick after tick (a saturated host, a scaler that does not answer) is one marker where it
/// began, not one a tick. The first point is one unless it is a routine hold at the running
/// count.
fn is_decision(previous: Option<&Point>, point: &Point) -> bool {
    // The loop's steady state: the two reasons `control_loop` logs a hold of at debug level,
    // and the ticks between two evaluations (else an evaluation period would mark every
    // evaluation).
    let routine = |p: &Point| {
        [
            Reason::WithinTolerance,
            Reason::DesiredWithinRange,
            Reason::BetweenEvaluations,
        ]
        .iter()
        .any(|r| r.as_str() == p.reason)
    };
    match previous {
        None => point.current != Some(point.desired) || !routine(point),
        Some(before) => {
            before.desired != point.desired
                || (before.reason != point.reason && !(routine(before) && routine(point)))
        }
    }
}

/// The points of the last [`SPAN`], oldest first.
#[derive(Debug, Clone, Default)]
pub struct Timeline(VecDeque<Point>);

impl Timeline {
    /// Adds the newest point, marked when it is a decision that changed something, and forgets
    /// those older than [`SPAN`] before it.
    pub fn push(&mut self, mut point: Point) {
        point.mark = is_decision(self.0.back(), &point)
            .then(|| format!("mark-{}", (point.at * 1e3).round() as i64));
        let horizon = point.at - SPAN.as_secs_f64();
        self.0.push_back(point);
        while self.0.front().is_some_and(|p| p.at < horizon) {
            self.0.pop_front();
        }
    }

    /// Every point, oldest first.
    pub fn points(&self) -> impl Iterator<Item = &Point> {
        self.0.iter()
    }

    /// The points after `at` (seconds since the epoch).
    pub fn after(&self, at: f64) -> Vec<Point> {
        self.0.iter().filter(|p| p.at > at).cloned().collect()
    }

    /// The last hour of worker pool `worker_pool` as `controller_actions` recorded it.
    pub async fn load(pool: &PgPool, worker_pool: &str) -> Result<Self, sqlx::Error> {
        let rows = sqlx::query!(
            r#"SELECT id, "timestamp", observed -> 'queues' -> 'by_queue' AS queues,
                      current_replicas, desired_replicas, reason,
                      recommendations -> 'notes' AS notes
               FROM controller_actions
               WHERE "timestamp" > now() - make_interval(secs => $1) AND pool = $2
               ORDER BY "timestamp", id"#,
            SPAN.as_secs_f64(),
            worker_pool
        )
        .fetch_all(pool)
        .await?;
        let mut timeline = Self::default();
        for row in rows {
            let queues = row.queues.as_ref().and_then(Value::as_object);
            let sum = |field: &str| {
                queues.map(|q| q.values().filter_map(|s| s[field].as_u64()).sum::<u64>())
            };
            let latency = queues.map(|q| {
                q.values()
                    .filter_map(|s| s["latency_secs"].as_f64())
                    .fold(0.0, f64::max)
            });
            timeline.push(Point {
                at: seconds(row.timestamp),
                backlog: sum("backlog"),
                latency_secs: latency,
                current: row.current_replicas.and_then(|c| u32::try_from(c).ok()),
                desired: row
                    .desired_replicas
                    .and_then(|d| u32::try_from(d).ok())
                    .unwrap_or_default(),
                reason: row.reason,
                notes: row
                    .notes
                    .and_then(|n| serde_json::from_value(n).ok())
                    .unwrap_or_default(),
                id: Some(row.id),
                mark: None,
            });
        }
        Ok(timeline)
    }
}

#[cfg(test)]
mod tests {
    use crate::timeline::{Point, SPAN, Timeline};

    fn point(at: f64) -> Point {
        decided(at, 1, "WithinTolerance")
    }

    fn decided(at: f64, desired: u32, reason: &str) -> Point {
        Point {
            at,
            backlog: Some(1),
            latency_secs: Some(0.0),
            current: Some(1),
            desired,
            reason: reason.into(),
            notes: Vec::new(),
            id: None,
            mark: None,
        }
    }

    #[test]
    fn a_decision_that_changed_the_desired_replicas_or_the_reason_is_marked_a_repeat_is_not() {
        let mut t = Timeline::default();
        for (at, desired, reason) in [
            (1.0, 1, "WithinTolerance"),
            (2.0, 1, "DesiredWithinRange"),
            (3.0, 3, "ScaleUpLimit"),
            (4.0, 3, "ScaleUpLimit"),
            (5.0, 3, "HostSaturated"),
            (6.0, 3, "WithinTolerance"),
            (7.0, 1, "DesiredWithinRange"),
            (8.25, 1, "BetweenEvaluations"),
        ] {
            t.push(decided(at, desired, reason));
        }
        let marks: Vec<Option<&str>> = t.points().map(|p| p.mark.as_deref()).collect();
        assert_eq!(
            marks,
            [
                None,
                None,
                Some("mark-3000"),
                None,
                Some("mark-5000"),
                Some("mark-6000"),
                Some("mark-7000"),
                None,
            ]
        );
        let mut first = Timeline::default();
        first.push(decided(0.5, 3, "ScaleUpLimit"));
        assert_eq!(
            first.points().next().and_then(|p| p.mark.as_deref()),
            Some("mark-500"),
            "the hour's first point, when it is not a routine hold"
        );
    }

    #[test]
    fn the_timeline_keeps_one_hour_before_its_newest_point() {
        let mut t = Timeline::default();
        let span = SPAN.as_secs_f64();
        for at in [0.0, 10.0, span, span + 11.0] {
            t.push(point(at));
        }
        let kept: Vec<f64> = t.points().map(|p| p.at).collect();
        assert_eq!(
            kept,
            [span, span + 11.0],
            "older than an hour before the newest: gone"
        );
        assert_eq!(t.after(span).len(), 1);
    }
}
