//! Retention: delivered webhook attempts older than `WEBHOOK_RETENTION_DAYS`, command claims
//! (`applied_commands`) and schedule runs older than `APPLIED_COMMANDS_RETENTION_DAYS`.
//! `controller_actions` are pruned by the controller itself (`CONTROLLER_RETENTION_DAYS`).
//! Deletes go in bounded batches so no statement holds locks for long.

use apalis_core::{error::BoxDynError, task::data::Data};
use apalis_cron::Tick;
use serde_json::json;
use sqlx::PgPool;

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
    let deliveries = prune(
        pool,
        "DELETE FROM webhook_deliveries WHERE id IN (
             SELECT id FROM webhook_deliveries
             WHERE status = 'DELIVERED' AND delivered_at < now() - make_interval(days => $1)
             LIMIT $2)",
        settings.webhook_retention_days,
    )
    .await?;
    let commands = prune(
        pool,
        "DELETE FROM applied_commands WHERE id IN (
             SELECT id FROM applied_commands
             WHERE applied_at < now() - make_interval(days => $1) LIMIT $2)",
        settings.applied_commands_retention_days,
    )
    .await?;
    let runs = prune(
        pool,
        "DELETE FROM schedule_runs WHERE (schedule, tick) IN (
             SELECT schedule, tick FROM schedule_runs
             WHERE started_at < now() - make_interval(days => $1) LIMIT $2)",
        settings.applied_commands_retention_days,
    )
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

async fn prune(pool: &PgPool, sql: &str, days: u32) -> Result<u64, JobError> {
    let days = i32::try_from(days).unwrap_or(i32::MAX);
    let mut total = 0;
    loop {
        let deleted = sqlx::query(sql)
            .bind(days)
            .bind(BATCH)
            .execute(pool)
            .await?
            .rows_affected();
        total += deleted;
        if deleted < BATCH as u64 {
            return Ok(total);
        }
    }
}
