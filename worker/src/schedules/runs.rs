//! One run of a schedule: the tick's instant, its claim in `schedule_runs` (so exactly one
//! replica runs it), and the outcome recorded, logged and counted.

use std::{future::Future, time::Instant};

use apalis_cron::Tick;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use crate::error::JobError;

/// The instant a tick was scheduled for (the same on every replica).
pub fn tick_time(tick: &Tick) -> DateTime<Utc> {
    i64::try_from(tick.get_timestamp())
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(Utc::now)
}

/// Claims `(schedule, tick)` for this worker; `false` when another replica already has it.
pub async fn claim(
    pool: &PgPool,
    schedule: &str,
    tick: DateTime<Utc>,
    worker_id: &str,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query!(
        "INSERT INTO schedule_runs (schedule, tick, worker_id) VALUES ($1, $2, $3)
         ON CONFLICT (schedule, tick) DO NOTHING",
        schedule,
        tick,
        worker_id
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Runs `work` for this tick if this replica claims it; records the outcome on the claim, in
/// the log and in `coin_schedule_runs_total{schedule,outcome}`. Never fails: a cron worker
/// whose handler failed would stop.
pub async fn once(
    pool: &PgPool,
    worker_id: &str,
    schedule: &'static str,
    tick: DateTime<Utc>,
    work: impl Future<Output = Result<Value, JobError>>,
) -> String {
    match claim(pool, schedule, tick, worker_id).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(schedule, %tick, "tick already claimed by another replica");
            metrics::counter!(coin_shared::metric_names::SCHEDULE_RUNS_TOTAL, "schedule" => schedule, "outcome" => "skipped")
                .increment(1);
            return "skipped".into();
        }
        Err(e) => {
            tracing::warn!(schedule, %tick, error = %e, "could not claim the tick; skipping it");
            metrics::counter!(coin_shared::metric_names::SCHEDULE_RUNS_TOTAL, "schedule" => schedule, "outcome" => "failed")
                .increment(1);
            return "failed".into();
        }
    }
    observe(schedule, tick, async {
        let result = work.await;
        let outcome = match &result {
            Ok(v) => v.clone(),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        let recorded = sqlx::query!(
            "UPDATE schedule_runs SET finished_at = now(), outcome = $3
             WHERE schedule = $1 AND tick = $2",
            schedule,
            tick,
            outcome
        )
        .execute(pool)
        .await;
        if let Err(e) = recorded {
            tracing::warn!(schedule, error = %e, "could not record the outcome of a tick");
        }
        result
    })
    .await
}

/// Logs and counts one run of a schedule.
pub async fn observe(
    schedule: &'static str,
    tick: DateTime<Utc>,
    work: impl Future<Output = Result<Value, JobError>>,
) -> String {
    let started = Instant::now();
    let result = work.await;
    metrics::histogram!(coin_shared::metric_names::SCHEDULE_DURATION_SECONDS, "schedule" => schedule)
        .record(started.elapsed().as_secs_f64());
    match result {
        Ok(outcome) => {
            tracing::debug!(schedule, %tick, %outcome, "tick done");
            metrics::counter!(coin_shared::metric_names::SCHEDULE_RUNS_TOTAL, "schedule" => schedule, "outcome" => "done")
                .increment(1);
            outcome.to_string()
        }
        Err(e) => {
            tracing::warn!(schedule, %tick, error = %e, "tick failed");
            metrics::counter!(coin_shared::metric_names::SCHEDULE_RUNS_TOTAL, "schedule" => schedule, "outcome" => "failed")
                .increment(1);
            "failed".into()
        }
    }
}
