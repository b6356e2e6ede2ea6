//! The last hour of the loop, one point a tick, for the console's chart: kept in memory as the
//! loop ticks, and read back from `controller_actions` (which records every tick) when the
//! controller starts, so a restart does not blank the chart.

use std::{collections::VecDeque, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

use crate::{decide::Decision, measure::Snapshot};

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
}

fn seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1_000.0
}

impl Point {
    /// The point of one tick.
    pub fn of(snapshot: &Snapshot, decision: &Decision) -> Self {
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
        }
    }
}

/// The points of the last [`SPAN`], oldest first.
#[derive(Debug, Clone, Default)]
pub struct Timeline(VecDeque<Point>);

impl Timeline {
    /// Adds the newest point and forgets those older than [`SPAN`] before it.
    pub fn push(&mut self, point: Point) {
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

    /// The last hour as `controller_actions` recorded it.
    pub async fn load(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let rows = sqlx::query!(
            r#"SELECT "timestamp", observed -> 'queues' -> 'by_queue' AS queues,
                      current_replicas, desired_replicas, reason
               FROM controller_actions
               WHERE "timestamp" > now() - make_interval(secs => $1)
               ORDER BY "timestamp", id"#,
            SPAN.as_secs_f64()
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
            });
        }
        Ok(timeline)
    }
}

#[cfg(test)]
mod tests {
    use crate::timeline::{Point, SPAN, Timeline};

    fn point(at: f64) -> Point {
        Point {
            at,
            backlog: Some(1),
            latency_secs: Some(0.0),
            current: Some(1),
            desired: 1,
            reason: "Hold".into(),
        }
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
