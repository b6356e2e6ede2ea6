//! `/workers`: the live worker processes — what each announced (host, pid, start, version,
//! concurrency per queue) and, from the queues' heartbeats and in-flight lists, how long since
//! it last heartbeat and how many jobs it holds. The table refreshes itself every 5 s (htmx).

use axum::extract::State;
use coin_shared::workers::{PROCESS_TTL, WorkerView};
use maud::{Markup, html};

use super::{auth::Operator, error::PageResult, layout, state::ConsoleState};

fn concurrency(view: &WorkerView) -> Markup {
    match &view.process {
        None => html! { span.muted { "not announced" } },
        Some(p) => html! {
            @for (queue, n) in &p.concurrency {
                @let held = view.queues.iter().find(|q| q.queue == queue.as_str()).map_or(0, |q| q.inflight);
                div { (queue) " " (held) "/" (n) }
            }
        },
    }
}

/// The workers as a table, freshest heartbeat first.
fn table(workers: &[WorkerView]) -> Markup {
    html! {
        div id="workers" hx-get="/workers" hx-trigger="every 5s" hx-select="#workers" hx-swap="outerHTML" {
            @if workers.is_empty() {
                p.muted { "No worker process has announced itself or heartbeat in the last "
                    (layout::seconds(PROCESS_TTL.as_secs_f64())) "." }
            } @else {
                table.workers {
                    (layout::head(&["Worker", "Host", "#PID", "Up since", "#Heartbeat", "#In flight", "Held / concurrency"]))
                    tbody { @for w in workers { tr id={"worker-" (w.worker_id)} {
                        th scope="row" { code { (w.worker_id) } }
                        td { (w.process.as_ref().map_or("–", |p| p.host.as_str())) }
                        td.num { (w.process.as_ref().map_or_else(|| "–".to_owned(), |p| p.pid.to_string())) }
                        td { (layout::time(w.process.as_ref().map(|p| p.started_at)))
                            @if let Some(p) = &w.process { div.muted { "v" (p.version) } } }
                        td.num { (w.heartbeat_age_secs().map_or_else(|| "none yet".to_owned(), |s| format!("{} ago", layout::seconds(s)))) }
                        td.num { (w.inflight()) }
                        td { (concurrency(w)) }
                    } } }
                }
            }
        }
    }
}

/// `GET /workers`.
pub async fn page(State(state): State<ConsoleState>, operator: Operator) -> PageResult {
    let workers = state.queue.workers().await?;
    let body = html! {
        h1 { "Workers" }
        p.hint { "A worker heartbeats on each queue it serves; one silent for longer than the orphan timeout is presumed dead and its jobs run again elsewhere." }
        (table(&workers))
    };
    Ok(operator.page(&state, "Workers", body))
}
