//! `/schedules`: each cron schedule the workers run, with its expression (from the same
//! variables the workers read), its next run, and its last run with the outcome it recorded:
//! `schedule_runs` for the schedules that claim each tick, `distribution_periods` for the
//! distribution; the relay runs every second and keeps no record, so its backlog stands for it.

use axum::extract::State;
use chrono::{DateTime, Utc};
use coin_shared::schedules::{Schedule, ScheduleKind};
use maud::{Markup, html};
use serde_json::Value;
use sqlx::PgPool;

use super::{auth::Operator, error::PageResult, layout, state::ConsoleState};

/// The latest claimed tick of a schedule.
#[derive(Debug)]
struct LastRun {
    schedule: String,
    tick: DateTime<Utc>,
    worker_id: String,
    finished_at: Option<DateTime<Utc>>,
    outcome: Option<Value>,
}

/// The latest distribution period.
#[derive(Debug)]
struct LastPeriod {
    period_key: String,
    status: String,
    wallets: i64,
    amount: i64,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

/// What the relay has yet to move.
#[derive(Debug)]
struct RelayBacklog {
    deliveries: i64,
    chunks: i64,
}

/// What the schedules recorded.
struct Records {
    runs: Vec<LastRun>,
    period: Option<LastPeriod>,
    relay: RelayBacklog,
}

async fn records(pool: &PgPool) -> Result<Records, sqlx::Error> {
    let runs = sqlx::query_as!(
        LastRun,
        "SELECT DISTINCT ON (schedule) schedule, tick, worker_id, finished_at, outcome
         FROM schedule_runs ORDER BY schedule, tick DESC"
    )
    .fetch_all(pool)
    .await?;
    let period = sqlx::query_as!(
        LastPeriod,
        r#"SELECT period_key, status::text AS "status!", wallets, amount, created_at, completed_at
           FROM distribution_periods ORDER BY created_at DESC LIMIT 1"#
    )
    .fetch_optional(pool)
    .await?;
    let relay = sqlx::query_as!(
        RelayBacklog,
        r#"SELECT
             (SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING') AS "deliveries!",
             (SELECT count(*) FROM distribution_chunks WHERE enqueued_at IS NULL) AS "chunks!""#
    )
    .fetch_one(pool)
    .await?;
    Ok(Records {
        runs,
        period,
        relay,
    })
}

/// The next run of `schedule`, or why there is none.
fn next_run(schedule: &Schedule<'_>) -> Markup {
    match schedule.parsed() {
        Ok(Some(cron)) => html! { (layout::time(cron.upcoming(Utc).next())) },
        Ok(None) => html! { span.muted { "off (" code { (schedule.env) } " is empty)" } },
        Err(e) => html! { span.error { (e.to_string()) } },
    }
}

/// The last run of `schedule` and its outcome.
fn last_run(schedule: &Schedule<'_>, records: &Records) -> Markup {
    match schedule.kind {
        ScheduleKind::Relay => html! {
            span.muted { "runs every tick, keeps no record" }
            div { "waiting: " (records.relay.deliveries) " webhook deliveries, "
                (records.relay.chunks) " distribution chunks" }
        },
        ScheduleKind::Distribution => match &records.period {
            None => html! { span.muted { "no period yet" } },
            Some(p) => html! {
                (layout::time(Some(p.created_at))) " · period " code { (p.period_key) }
                div { (p.status) ": " (p.amount) " points to " (p.wallets) " wallets"
                    @if let Some(done) = p.completed_at { ", completed " (layout::time(Some(done))) } }
            },
        },
        kind => {
            let run = kind
                .run_name()
                .and_then(|name| records.runs.iter().find(|r| r.schedule == name));
            match run {
                None => html! { span.muted { "not run yet" } },
                Some(r) => html! {
                    (layout::time(Some(r.tick))) " by " code { (r.worker_id) }
                    div {
                        @match (&r.finished_at, &r.outcome) {
                            (None, _) => span.muted { "running (or stopped before it recorded an outcome)" },
                            (Some(_), Some(outcome)) if outcome.get("error").is_some() => {
                                span.error { "failed: " (outcome["error"].as_str().unwrap_or_default()) }
                            }
                            (Some(_), outcome) => {
                                "done" @if let Some(o) = outcome { ": " code { (o.to_string()) } }
                            }
                        }
                    }
                },
            }
        }
    }
}

/// `GET /schedules`.
pub async fn page(State(state): State<ConsoleState>, operator: Operator) -> PageResult {
    let records = records(&state.pool).await?;
    let schedules = state.schedules.all();
    let body = html! {
        h1 { "Schedules" }
        p.hint { "Every worker replica runs every schedule; each tick takes effect once. Times in UTC; expressions have seconds first." }
        table.schedules {
            (layout::head(&["Schedule", "Expression", "Last run", "Next run"]))
            tbody { @for s in &schedules { tr id={"schedule-" (s.name)} {
                th scope="row" { (s.name) div.muted { (s.purpose) } }
                td { code { (s.expression) } div.muted { code { (s.env) } } }
                td { (last_run(s, &records)) }
                td { (next_run(s)) }
            } } }
        }
    };
    Ok(operator.page(&state, "Schedules", body))
}
