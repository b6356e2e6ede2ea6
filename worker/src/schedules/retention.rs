//! Retention: delivered webhook attempts older than `WEBHOOK_RETENTION_DAYS`, command claims
//! (`applied_commands`) and schedule runs older than `APPLIED_COMMANDS_RETENTION_DAYS`.
//! `controller_actions` are pruned by the controller itself (`CONTROLLER_RETENTION_DAYS`).
//! Deletes go in bounded batches so no statement holds locks for long.

use apalis_core::{error::BoxDynError, task::data::Data};
use apalis_cron::Tick;
use serde_json::json;
use sqlx::{PgPool, postgres::PgQueryResult};

use super::runs::{once, tick_time};
use crate::{context::JobContext, error::JobError, settings::ScheduleSettings};

/// Rows deleted per statement.
const BATCH: i64 = 10_000;

/// The cron handler.
pub async fn tick(tick: Tick, ctx: Data<JobContext>) -> Result<String, BoxDynError> {
    Ok(once(
        &ctx.pool,
        &ctx.worker_id,
        "retention",
        tick_time(&tick),
        run(&ctx.pool, &ctx.schedules),
    )
    .await)
}

/// Prunes; returns how many rows of each table went.
pub async fn run(
    pool: &PgPool,
    settings: &ScheduleSettings,
) -> Result<serde_json::Value, JobError> {
    let webhook_days = days(settings.webhook_retention_days);
    let command_days = days(settings.applied_commands_retention_days);
    let deliveries = prune(|| {
        sqlx::query!(
            "DELETE FROM webhook_deliveries WHERE id IN (
                 SELECT id FROM webhook_deliveries
                 WHERE status = 'DELIVERED' AND delivered_at < now() - make_interval(days => $1)
                 LIMIT $2)",
            webhook_days,
            BATCH
        )
        .execute(pool)
    })
    .await?;
    let commands = prune(|| {
        sqlx::query!(
            "DELETE FROM applied_commands WHERE id IN (
                 SELECT id FROM applied_commands
                 WHERE applied_at < now() - make_interval(days => $1) LIMIT $2)",
            command_days,
            BATCH
        )
        .execute(pool)
    })
    .await?;
    let runs = prune(|| {
        sqlx::query!(
            "DELETE FROM schedule_runs WHERE (schedule, tick) IN (
                 SELECT schedule, tick FROM schedule_runs
                 WHERE started_at < now() - make_interval(days => $1) LIMIT $2)",
            command_days,
            BATCH
        )
        .execute(pool)
    })
    .await?;
    for (table, n) in [
        ("webhook_deliveries", deliveries),
        ("applied_commands", commands),
        ("schedule_runs", runs),
    ] {
        metrics::counter!(coin_shared::metric_names::RETENTION_DELETED_ROWS_TOTAL, "table" => table).increment(n);
    }
    Ok(json!({
        "webhook_deliveries": deliveries,
        "applied_commands": commands,
        "schedule_runs": runs,
    }))
}

/// A retention setting as the `make_interval(days => …)` argument.
fn days(days: u32) -> i32 {
    i32::try_from(days).unwrap_or(i32::MAX)
}

/// Runs `delete` (one batch of at most [`BATCH`] rows) until a batch comes back short; returns
/// how many rows went in all.
async fn prune<F>(mut delete: impl FnMut() -> F) -> Result<u64, JobError>
where
    F: Future<Output = Result<PgQueryResult, sqlx::Error>>,
{
    let mut total = 0;
    loop {
        let deleted = delete().await?.rows_affected();
        total += deleted;
        if deleted < BATCH as u64 {
            return Ok(total);
        }
    }
}
