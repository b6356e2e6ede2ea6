//! `/autoscaler`: the decision log from `controller_actions` (pool, reason, notes, what was
//! done), the latest decision of each worker pool when there are several, the policy the loop
//! decides with, and the what-if (`whatif`).

use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;

use crate::control_loop::PoolObserved;

use super::{
    auth::Operator,
    error::{ConsoleError, PageResult},
    layout,
    state::ConsoleState,
    whatif::{self, WhatIf},
};

/// Rows one page of the log shows.
const PAGE: i64 = 50;

/// One recorded decision.
#[derive(Debug)]
pub struct DecisionRow {
    id: i64,
    timestamp: DateTime<Utc>,
    reason: String,
    current_replicas: Option<i32>,
    desired_replicas: Option<i32>,
    notes: Option<Value>,
    actions_taken: Value,
    dry_run: bool,
    pool: String,
}

/// The newest `limit` decisions, older than `before` when given.
pub async fn recent_decisions(pool: &PgPool, limit: i64) -> Result<Vec<DecisionRow>, sqlx::Error> {
    decisions_before(pool, None, limit).await
}

async fn decisions_before(
    pool: &PgPool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<DecisionRow>, sqlx::Error> {
    sqlx::query_as!(
        DecisionRow,
        r#"SELECT id, "timestamp", reason, current_replicas, desired_replicas,
                  recommendations -> 'notes' AS notes, actions_taken, dry_run, pool
           FROM controller_actions
           WHERE $1::bigint IS NULL OR id < $1
           ORDER BY id DESC LIMIT $2"#,
        before,
        limit,
    )
    .fetch_all(pool)
    .await
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The decisions as a table, newest first.
pub fn decision_table(rows: &[DecisionRow]) -> Markup {
    html! {
        @if rows.is_empty() { p.muted { "No decision recorded yet." } }
        @else {
            table.decisions {
                (layout::head(&["When", "Pool", "#Current", "#Desired", "Reason", "Notes", "Done"]))
                tbody { @for row in rows { tr id={"decision-" (row.id)} {
                    td { (layout::time(Some(row.timestamp))) }
                    td { (row.pool) }
                    td.num { (layout::or_dash(row.current_replicas)) }
                    td.num { (layout::or_dash(row.desired_replicas)) }
                    td { code { (row.reason) } @if row.dry_run { " " span.muted { "(dry run)" } } }
                    td { @for note in strings(row.notes.as_ref()) { div { (note) } } }
                    td { @for action in strings(Some(&row.actions_taken)) { div { (action) } } }
                } } }
            }
        }
    }
}

/// The latest decision of each pool, when the loop manages several (nothing for one).
fn pools_table(pools: &[PoolObserved]) -> Markup {
    html! {
        @if pools.len() > 1 {
            h2 { "Worker pools" }
            table.pools {
                (layout::head(&["Pool", "Queues", "Replicas", "#Current", "#Desired", "Reason", "When"]))
                tbody { @for p in pools { tr id={"pool-" (p.spec.name)} {
                    th scope="row" { (p.spec.name) }
                    td { (p.spec.queues.join(", ")) }
                    td { (p.spec.min) " to " (p.spec.max) }
                    td.num { (layout::or_dash(p.decision.current)) }
                    td.num { (p.decision.desired) }
                    td { code { (p.decision.reason.as_str()) } }
                    td { (layout::time(Some(p.decision.at))) }
                } } }
            }
        }
    }
}

/// `?before=<id>`: the page of older decisions.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    before: Option<String>,
    /// The what-if form's fields.
    #[serde(flatten)]
    what_if: WhatIf,
}

/// `GET /autoscaler`.
pub async fn page(
    State(state): State<ConsoleState>,
    operator: Operator,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let Query(query) = query.map_err(|e| ConsoleError::BadInput(e.body_text()))?;
    let before = match query.before.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            ConsoleError::BadInput(format!("`before` must be a decision id, not {raw:?}"))
        })?),
    };
    let rows = decisions_before(&state.pool, before, PAGE).await?;
    let older = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let p = &state.policy;
    let body = html! {
        h1 { "Autoscaler" }
        h2 { "Policy in force" }
        table.policy { tbody {
            tr { th scope="row" { "Replicas" } td { (p.min_replicas) " to " (p.max_replicas) } }
            tr { th scope="row" { "Backlog per replica" } td { (p.target_backlog_per_replica) " ready jobs (tolerance " (format!("{:.0}", p.tolerance * 100.0)) " %)" } }
            tr { th scope="row" { "Drain target" } td { (layout::seconds(p.drain_target.as_secs_f64())) } }
            tr { th scope="row" { "Scale up" } td { "at most " (p.scale_up_pods) " replicas or " (format!("{:.0}", p.scale_up_fraction * 100.0)) " % per " (layout::seconds(p.scale_up_period.as_secs_f64())) ", stabilized over " (layout::seconds(p.scale_up_stabilization.as_secs_f64())) } }
            tr { th scope="row" { "Scale down" } td { "stabilized over " (layout::seconds(p.scale_down_stabilization.as_secs_f64())) } }
            tr { th scope="row" { "No scale-up above" } td { "host CPU " (format!("{:.0}", p.max_host_cpu_ratio * 100.0)) " %, memory " (format!("{:.0}", p.max_host_memory_ratio * 100.0)) " %, Postgres connections " (format!("{:.0}", p.max_db_connections_ratio * 100.0)) " %" } }
            tr { th scope="row" { "Measurements stale after" } td { (layout::seconds(p.stale_after.as_secs_f64())) } }
        } }
        (pools_table(&state.observed.read().await.pools))
        (whatif::section(&*state.observed.read().await, &state.policy, &query.what_if))
        h2 { "Decision log" }
        (decision_table(&rows))
        @if let Some(id) = older { p { a href={"/autoscaler?before=" (id)} { "Older decisions" } } }
    };
    Ok(operator.page(&state, "Autoscaler", body))
}
