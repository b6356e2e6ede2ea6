//! One `controller_actions` row per tick and worker pool, and the retention that prunes old rows.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{decide::Decision, measure::Snapshot};

/// What one tick did for one worker pool, as stored.
#[derive(Debug, Clone)]
pub struct TickRecord<'a> {
    /// The worker pool decided for (`default` without `WORKER_POOLS`).
    pub pool: &'a str,
    /// What was measured.
    pub snapshot: &'a Snapshot,
    /// What was decided.
    pub decision: &'a Decision,
    /// What was done, or why nothing was, one sentence each.
    pub actions_taken: Vec<String>,
    /// `kubernetes`, `process` or `none`.
    pub scaler: &'static str,
    /// Whether applying was switched off.
    pub dry_run: bool,
}

impl TickRecord<'_> {
    /// The `recommendations` column: the action as a readable sentence under its own key (as the
    /// original controller wrote it) plus the numbers that led to it.
    pub fn recommendations(&self) -> Value {
        let d = self.decision;
        let current = d
            .current
            .map_or_else(|| "unknown".to_owned(), |c| c.to_string());
        let backlog = self.snapshot.queues.as_ref().map(|q| q.backlog());
        let summary = match backlog {
            Some(backlog) => format!(
                "{} replicas wanted for a backlog of {backlog} jobs (running {current}): {}",
                d.desired,
                d.reason.as_str()
            ),
            None => format!(
                "{} replicas wanted without queue metrics: {}",
                d.desired,
                d.reason.as_str()
            ),
        };
        json!({
            d.action.as_str(): summary,
            "reason": d.reason.as_str(),
            "desired_replicas": d.desired,
            "backlog_based": d.recommendation.backlog_based,
            "throughput_based": d.recommendation.throughput_based,
            "raw": d.recommendation.raw,
            "stabilized": d.recommendation.stabilized,
            "notes": d.notes,
        })
    }
}

/// Inserts the row and returns its id.
pub async fn insert(pool: &PgPool, record: &TickRecord<'_>) -> Result<i64, sqlx::Error> {
    let observed = serde_json::to_value(record.snapshot).unwrap_or(Value::Null);
    sqlx::query_scalar!(
        r#"INSERT INTO controller_actions
             ("timestamp", observed, recommendations, actions_taken, reason,
              current_replicas, desired_replicas, scaler, dry_run, pool)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING id"#,
        record.decision.at,
        observed,
        record.recommendations(),
        json!(record.actions_taken),
        record.decision.reason.as_str(),
        record
            .decision
            .current
            .map(|c| i32::try_from(c).unwrap_or(i32::MAX)),
        i32::try_from(record.decision.desired).unwrap_or(i32::MAX),
        record.scaler,
        record.dry_run,
        record.pool
    )
    .fetch_one(pool)
    .await
}

/// Deletes rows older than `days` days before `now`; returns how many.
pub async fn prune(pool: &PgPool, now: DateTime<Utc>, days: u32) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"DELETE FROM controller_actions
           WHERE "timestamp" < $1::timestamptz - make_interval(days => $2)"#,
        now,
        i32::try_from(days).unwrap_or(i32::MAX)
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
