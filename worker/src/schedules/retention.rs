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

/// A table retention prunes.
#[derive(Debug, Clone, Copy)]
enum Table {
    WebhookDeliveries,
    AppliedCommands,
    ScheduleRuns,
}

impl Table {
    const ALL: [Table; 3] = [
        Table::WebhookDeliveries,
        Table::AppliedCommands,
        Table::ScheduleRuns,
    ];

    /// Its name, as the metrics and the outcome say it.
    fn name(self) -> &'static str {
        match self {
            Table::WebhookDeliveries => "webhook_deliveries",
            Table::AppliedCommands => "applied_commands",
            Table::ScheduleRuns => "schedule_runs",
        }
    }

    /// The age, in days, past which its rows go.
    fn retention_days(self, settings: &ScheduleSettings) -> i32 {
        let days = match self {
            Table::WebhookDeliveries => settings.webhook_retention_days,
            Table::AppliedCommands | Table::ScheduleRuns => {
                settings.applied_commands_retention_days
            }
        };
        i32::try_from(days).unwrap_or(i32::MAX)
    }
}

/// Prunes; returns how many rows of each table went.
pub async fn run(
    pool: &PgPool,
    settings: &ScheduleSettings,
) -> Result<serde_json::Value, JobError> {
    let mut outcome = serde_json::Map::new();
    for table in Table::ALL {
        let days = table.retention_days(settings);
        let mut deleted = 0;
        loop {
            let batch = delete_batch(pool, table, days).await?.rows_affected();
            deleted += batch;
            if batch < BATCH as u64 {
                break;
            }
        }
        metrics::counter!(coin_shared::metric_names::RETENTION_DELETED_ROWS_TOTAL, "table" => table.name())
            .increment(deleted);
        outcome.insert(table.name().to_owned(), json!(deleted));
    }
    Ok(serde_json::Value::Object(outcome))
}

/// Deletes one batch of at most [`BATCH`] rows of `table` older than `days` days.
async fn delete_batch(
    pool: &PgPool,
    table: Table,
    days: i32,
) -> Result<PgQueryResult, sqlx::Error> {
    match table {
        Table::WebhookDeliveries => {
            sqlx::query!(
                "DELETE FROM webhook_deliveries WHERE id IN (
                     SELECT id FROM webhook_deliveries
                     WHERE status = 'DELIVERED' AND delivered_at < now() - make_interval(days => $1)
                     LIMIT $2)",
                days,
                BATCH
            )
            .execute(pool)
            .await
        }
        Table::AppliedCommands => {
            sqlx::query!(
                "DELETE FROM applied_commands WHERE id IN (
                     SELECT id FROM applied_commands
                     WHERE applied_at < now() - make_interval(days => $1) LIMIT $2)",
                days,
                BATCH
            )
            .execute(pool)
            .await
        }
        Table::ScheduleRuns => {
            sqlx::query!(
                "DELETE FROM schedule_runs WHERE (schedule, tick) IN (
                     SELECT schedule, tick FROM schedule_runs
                     WHERE started_at < now() - make_interval(days => $1) LIMIT $2)",
                days,
                BATCH
            )
            .execute(pool)
            .await
        }
    }
}
