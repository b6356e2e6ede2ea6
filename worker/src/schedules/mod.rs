//! Scheduled jobs (apalis-cron): every replica runs every schedule, so each one makes its effect
//! exactly-once itself.
//!
//! - `relay` (every second): moves outbox rows into the queues. Rows are taken with
//!   `FOR UPDATE SKIP LOCKED` and pushed under their own id (a push of a known id adds nothing),
//!   so concurrent replicas never enqueue a row twice.
//! - `auto_close`, `reconciliation`, `retention`: each tick is claimed in `schedule_runs`
//!   (primary key (schedule, tick)); the replica whose INSERT wins runs it, the others skip it.
//!   A tick that fails after its claim is not re-run: the next tick catches up.
//! - `distribution`: the period key (the tick) is unique in `distribution_periods`, and the
//!   period, its chunks and the claim are one transaction.

pub mod auto_close;
pub mod distribution;
pub mod reconciliation;
pub mod relay;
pub mod retention;

use std::{future::Future, pin::Pin, str::FromStr, time::Instant};

use apalis_core::{error::BoxDynError, task::data::Data};
use apalis_cron::Tick;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use crate::{context::JobContext, error::JobError, settings::ScheduleSettings};

/// A schedule's tick function, boxed so that every schedule has the same type.
pub type TickFn =
    fn(Tick, Data<JobContext>) -> Pin<Box<dyn Future<Output = Result<String, BoxDynError>> + Send>>;

/// One schedule: its name, the setting that holds its cron expression, and its tick.
#[derive(Debug, Clone, Copy)]
pub struct Cron<'a> {
    /// The schedule's name (in its worker's name).
    pub name: &'static str,
    /// The setting holding its expression, for error messages, e.g. `RELAY_CRON`.
    pub env: &'static str,
    /// The cron expression (seconds first); empty turns the schedule off.
    pub expression: &'a str,
    /// What a tick does.
    pub tick: TickFn,
}

/// Every schedule the worker runs, in registration order.
pub fn all(settings: &ScheduleSettings) -> [Cron<'_>; 5] {
    [
        Cron {
            name: "relay",
            env: "RELAY_CRON",
            expression: &settings.relay_cron,
            tick: |t, c| Box::pin(relay::tick(t, c)),
        },
        Cron {
            name: "auto-close",
            env: "AUTO_CLOSE_CRON",
            expression: &settings.auto_close_cron,
            tick: |t, c| Box::pin(auto_close::tick(t, c)),
        },
        Cron {
            name: "distribution",
            env: "DISTRIBUTION_CRON",
            expression: &settings.distribution_cron,
            tick: |t, c| Box::pin(distribution::tick(t, c)),
        },
        Cron {
            name: "reconciliation",
            env: "RECONCILIATION_CRON",
            expression: &settings.reconciliation_cron,
            tick: |t, c| Box::pin(reconciliation::tick(t, c)),
        },
        Cron {
            name: "retention",
            env: "RETENTION_CRON",
            expression: &settings.retention_cron,
            tick: |t, c| Box::pin(retention::tick(t, c)),
        },
    ]
}

/// Parses a cron expression (seconds first); `None` when it is empty (schedule off).
pub fn parse(name: &str, expression: &str) -> anyhow::Result<Option<cron::Schedule>> {
    let expression = expression.trim();
    if expression.is_empty() {
        return Ok(None);
    }
    cron::Schedule::from_str(expression).map(Some).map_err(|e| {
        anyhow::anyhow!(
            "invalid cron expression for {name}: `{expression}` ({e}); expressions have 6 or 7 \
             fields, seconds first, e.g. `0 0 0 * * Mon`"
        )
    })
}

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
    let claimed = sqlx::query(
        "INSERT INTO schedule_runs (schedule, tick, worker_id) VALUES ($1, $2, $3)
         ON CONFLICT (schedule, tick) DO NOTHING",
    )
    .bind(schedule)
    .bind(tick)
    .bind(worker_id)
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
        let recorded = sqlx::query(
            "UPDATE schedule_runs SET finished_at = now(), outcome = $3
             WHERE schedule = $1 AND tick = $2",
        )
        .bind(schedule)
        .bind(tick)
        .bind(&outcome)
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
