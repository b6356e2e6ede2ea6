//! `/queues`: each queue with its depth, drain estimate and pause state, and the pause and
//! resume buttons (CSRF-checked, done through the shared operations, then audited).

use axum::{
    extract::{Path, State},
    response::{Html, Redirect},
};
use coin_shared::{jobs::ALL_QUEUES, operations::audit_action, queue::QueueDepth};
use maud::html;
use serde_json::json;

use super::{
    audit,
    auth::{Confirmed, Operator},
    error::ConsoleError,
    layout::{self, rate, seconds},
    state::ConsoleState,
};

/// Seconds the current completion rate needs for the backlog, if it completes anything.
fn drain_estimate(d: &QueueDepth) -> Option<f64> {
    match d.completion_per_sec {
        _ if d.backlog == 0 => Some(0.0),
        Some(r) if r > 0.0 => Some(d.backlog as f64 / r),
        _ => None,
    }
}

/// `GET /queues`.
pub async fn page(
    State(state): State<ConsoleState>,
    operator: Operator,
) -> Result<Html<String>, ConsoleError> {
    let queues = state.queue.overview().await?;
    let flash = state.sessions.take_flash(&operator.session_id);
    let body = html! {
        h1 { "Queues" }
        p.hint { "Workers fetch nothing from a paused queue; producers keep adding to it." }
        table id="queue-controls" {
            thead { tr {
                th scope="col" { "Queue" }
                th.num scope="col" { "Backlog" }
                th.num scope="col" { "Dead" }
                th.num scope="col" { "Latency" }
                th.num scope="col" { "Completed" }
                th.num scope="col" { "Drains in" }
                th scope="col" { "State" }
                th scope="col" { "Action" }
            } }
            tbody { @for (name, d) in &queues { tr data-queue=(name) {
                th scope="row" { (name) }
                td.num { (d.backlog) }
                td.num { a href={"/jobs?state=dead&queue=" (name)} { (d.dead) } }
                td.num { (seconds(d.latency_secs)) }
                td.num { (rate(d.completion_per_sec)) }
                td.num { (drain_estimate(d).map_or_else(|| "never at this rate".to_owned(), seconds)) }
                td { @if d.paused { span.paused { "paused" } } @else { "running" } }
                td {
                    @let (verb, label) = if d.paused { ("resume", "Resume") } else { ("pause", "Pause") };
                    form.inline method="post" action={"/queues/" (name) "/" (verb)} hx-boost="true" {
                        (operator.csrf_field())
                        button type="submit" { (label) " " (name) }
                    }
                }
            } } }
        }
    };
    Ok(Html(
        layout::page("Queues", Some(&operator.session), flash, body).into_string(),
    ))
}

fn known(queue: &str) -> Result<&'static str, ConsoleError> {
    ALL_QUEUES
        .iter()
        .find(|q| **q == queue)
        .copied()
        .ok_or_else(|| ConsoleError::NotFound(format!("there is no queue {queue:?}")))
}

/// `POST /queues/{queue}/pause`.
pub async fn pause(
    State(state): State<ConsoleState>,
    Path(queue): Path<String>,
    Confirmed(operator): Confirmed,
) -> Result<Redirect, ConsoleError> {
    let queue = known(&queue)?;
    let changed = state.queue.pause(queue, &operator.actor()).await?;
    let message = if changed {
        audit::record(
            &state,
            &operator,
            audit_action::QUEUE_PAUSED,
            "queue",
            queue,
            json!({}),
        )
        .await?;
        format!("Paused {queue}: workers take no more of its jobs.")
    } else {
        format!("{queue} was paused already.")
    };
    state.sessions.set_flash(&operator.session_id, message);
    Ok(Redirect::to("/queues"))
}

/// `POST /queues/{queue}/resume`.
pub async fn resume(
    State(state): State<ConsoleState>,
    Path(queue): Path<String>,
    Confirmed(operator): Confirmed,
) -> Result<Redirect, ConsoleError> {
    let queue = known(&queue)?;
    let changed = state.queue.resume(queue).await?;
    let message = if changed {
        audit::record(
            &state,
            &operator,
            audit_action::QUEUE_RESUMED,
            "queue",
            queue,
            json!({}),
        )
        .await?;
        format!("Resumed {queue}.")
    } else {
        format!("{queue} was not paused.")
    };
    state.sessions.set_flash(&operator.session_id, message);
    Ok(Redirect::to("/queues"))
}
