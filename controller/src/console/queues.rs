//! `/queues`: each queue with its depth, drain estimate and pause state, and the pause and
//! resume buttons (CSRF-checked, done through the shared operations, then audited).

use axum::{
    extract::{Path, State},
    response::Redirect,
};
use coin_shared::{
    jobs::queue_named,
    operations::{Audit, audit_action},
    queue::QueueDepth,
};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::{
    audit,
    auth::{Confirmed, Operator},
    error::{ConsoleError, PageResult},
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
pub async fn page(State(state): State<ConsoleState>, operator: Operator) -> PageResult {
    let queues = state.queue.overview().await?;
    let body = html! {
        h1 { "Queues" }
        p.hint { "Workers fetch nothing from a paused queue; producers keep adding to it." }
        table id="queue-controls" {
            (layout::head(&["Queue", "#Backlog", "#Dead", "#Latency", "#Completed", "#Drains in", "State", "Action"]))
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
    Ok(operator.page(&state, "Queues", body))
}

/// The path of a queue action.
#[derive(Debug, Deserialize)]
pub struct QueueAction {
    queue: String,
    verb: String,
}

/// `POST /queues/{queue}/pause` and `POST /queues/{queue}/resume`: one handler, since the two
/// differ only in the direction; any other verb is a page that does not exist.
pub async fn toggle(
    State(state): State<ConsoleState>,
    Path(target): Path<QueueAction>,
    Confirmed(operator, _): Confirmed,
) -> Result<Redirect, ConsoleError> {
    let queue = queue_named(&target.queue)
        .ok_or_else(|| ConsoleError::NotFound(format!("there is no queue {:?}", target.queue)))?;
    let (changed, action, done, already) = match target.verb.as_str() {
        "pause" => (
            state.queue.pause(queue, &operator.actor()).await?,
            audit_action::QUEUE_PAUSED,
            format!("Paused {queue}: workers take no more of its jobs."),
            format!("{queue} was paused already."),
        ),
        "resume" => (
            state.queue.resume(queue).await?,
            audit_action::QUEUE_RESUMED,
            format!("Resumed {queue}."),
            format!("{queue} was not paused."),
        ),
        _ => return Err(ConsoleError::NotFound("there is no such page".into())),
    };
    let message = if changed {
        audit::record(&state, &operator, Audit::queue(action, queue, json!({}))).await?;
        done
    } else {
        already
    };
    state.sessions.set_flash(&operator.session_id, message);
    Ok(Redirect::to("/queues"))
}
