//! `/`: the last hour's chart (`chart`), every queue's depth, latency and rates, current vs
//! desired replicas, the last decisions; `/events`: the same numbers as a Server-Sent Events
//! stream (one `update` a second, the live part's new HTML; a `chart` event with the chart's new
//! points and a `decision` event with the entries of its new markers), which `console.js` swaps
//! in and draws without a reload.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use chrono::{DateTime, Utc};
use coin_shared::queue::QueueDepth;
use futures::{Stream, StreamExt, stream};
use maud::{Markup, html};

use super::{
    auth::Operator,
    autoscaler::{DecisionRow, decision_table, recent_decisions},
    chart::{self, json_script},
    error::{ConsoleError, PageResult},
    layout::{self, or_dash, rate, seconds},
    state::ConsoleState,
};
use crate::measure::{DatabaseMetrics, HostMetrics};

/// How often the live stream sends the numbers.
const EVERY: Duration = Duration::from_secs(1);
/// Decisions the overview lists.
const DECISIONS: i64 = 5;

/// What the live part shows.
struct Overview {
    queues: Vec<(&'static str, QueueDepth)>,
    host: Option<HostMetrics>,
    database: Option<DatabaseMetrics>,
    current: Option<u32>,
    desired: Option<u32>,
    decided_at: Option<DateTime<Utc>>,
    decisions: Vec<DecisionRow>,
}

async fn read(state: &ConsoleState) -> Result<Overview, ConsoleError> {
    let queues = state.queue.overview().await?;
    let (current, desired, decided_at, host, database) = {
        let observed = state.observed.read().await;
        let d = observed.decision.as_ref();
        let snapshot = observed.snapshot.as_ref();
        // Summed over the worker pools.
        let (current, desired) = observed.replicas();
        (
            current,
            desired,
            d.map(|d| d.at),
            snapshot.and_then(|s| s.host),
            snapshot.and_then(|s| s.database),
        )
    };
    let decisions = recent_decisions(&state.pool, DECISIONS).await?;
    Ok(Overview {
        queues,
        host,
        database,
        current,
        desired,
        decided_at,
        decisions,
    })
}

/// `GET /`.
pub async fn page(State(state): State<ConsoleState>, operator: Operator) -> PageResult {
    let overview = read(&state).await?;
    let body = html! {
        h1 { "Overview" }
        p {
            button id="live-toggle" type="button" hidden aria-pressed="false" { "Pause live updates" }
            " "
            span id="live-status" class="muted" role="status" aria-live="polite" {}
        }
        (chart::section(&state).await)
        div id="live" data-live="/events" { (live(&overview)) }
    };
    Ok(operator.page(&state, "Overview", body))
}

/// `GET /events`: the live part, re-rendered every second until the client leaves or the
/// controller stops.
pub async fn events(
    State(state): State<ConsoleState>,
    operator: Result<Operator, ConsoleError>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ConsoleError> {
    // Signed out: 403, not the sign-in redirect, so the browser's EventSource stops retrying.
    operator.map_err(|_| ConsoleError::Forbidden("sign in to see live numbers".into()))?;
    let mut stopping = state.stopping.clone();
    let ticks = stream::unfold((state, 0.0), |(state, sent)| async move {
        // The chart's new points first, then the entries of their markers, then the live part.
        let fresh = state.observed.read().await.timeline.after(sent);
        let sent = fresh.last().map_or(sent, |p| p.at);
        let chart = (!fresh.is_empty())
            .then(|| Event::default().event("chart").data(json_script(&fresh).0));
        let decisions = fresh.iter().any(|p| p.mark.is_some()).then(|| {
            Event::default()
                .event("decision")
                .data(chart::entries(fresh.iter()).into_string())
        });
        let html = match read(&state).await {
            Ok(overview) => live(&overview).into_string(),
            Err(e) => {
                tracing::debug!(error = %e, "a live overview read failed");
                html! { p.error role="alert" { "Live numbers unavailable: " (e) } }.into_string()
            }
        };
        let update = Event::default().event("update").data(html);
        tokio::time::sleep(EVERY).await;
        let events = chart.into_iter().chain(decisions).chain([update]).map(Ok);
        Some((stream::iter(events), (state, sent)))
    })
    .flatten();
    let stop = async move {
        while !*stopping.borrow() {
            if stopping.changed().await.is_err() {
                break;
            }
        }
    };
    Ok(Sse::new(ticks.take_until(Box::pin(stop))).keep_alive(KeepAlive::default()))
}

/// The host's and Postgres' gauges as the loop last measured them (the autoscaler's guards).
fn gauges(host: Option<&HostMetrics>, db: Option<&DatabaseMetrics>) -> Markup {
    let percent = |r: f64| format!("{:.0} %", r * 100.0);
    let used = |total: u64, free: u64| {
        (total > 0).then(|| percent(total.saturating_sub(free) as f64 / total as f64))
    };
    html! {
        table.gauges { tbody {
            @match host {
                None => tr { th scope="row" { "Host" } td.muted { "not measured yet" } },
                Some(h) => {
                    tr { th scope="row" { "Host CPU" } td id="host-cpu" { (percent(h.cpu_ratio)) } }
                    tr { th scope="row" { "Host memory" } td { (used(h.memory_total_bytes, h.memory_available_bytes).unwrap_or_else(|| "–".into())) } }
                    tr { th scope="row" { "Host disk" } td { (used(h.disk_total_bytes, h.disk_free_bytes).unwrap_or_else(|| "–".into())) } }
                    tr { th scope="row" { "Load (1, 5, 15 min)" } td { (format!("{:.2}, {:.2}, {:.2}", h.load_averages[0], h.load_averages[1], h.load_averages[2])) } }
                },
            }
            @match db {
                None => tr { th scope="row" { "Postgres" } td.muted { "not measured yet" } },
                Some(d) => {
                    tr { th scope="row" { "Postgres connections" } td id="db-connections" { (d.total_connections) " of " (d.max_connections) " (" (d.active_connections) " active)" } }
                    tr { th scope="row" { "Postgres cache hits" } td { (percent(d.cache_hit_ratio)) } }
                },
            }
        } }
    }
}

fn live(o: &Overview) -> Markup {
    html! {
        h2 { "Queues" }
        table id="queues" {
            caption.muted { "Read from Redis just now" }
            (layout::head(&["Queue", "#Ready", "#Scheduled", "#In flight", "#Dead", "#Latency",
                "#Enqueued", "#Completed", "#Workers", "State"]))
            tbody { @for (name, d) in &o.queues { tr data-queue=(name) {
                th scope="row" { (name) }
                td.num id={(name) "-ready"} { (d.ready) }
                td.num id={(name) "-scheduled"} { (d.scheduled) }
                td.num id={(name) "-inflight"} { (d.inflight) }
                td.num id={(name) "-dead"} { (d.dead) }
                td.num { (seconds(d.latency_secs)) }
                td.num { (rate(d.enqueue_per_sec)) }
                td.num { (rate(d.completion_per_sec)) }
                td.num { (d.live_workers) }
                td { @if d.paused { span.paused { "paused" } } @else { "running" } }
            } } }
        }
        h2 { "Worker replicas" }
        p {
            "Current " strong id="replicas-current" { (or_dash(o.current)) }
            ", desired " strong id="replicas-desired" { (or_dash(o.desired)) }
            @if let Some(at) = o.decided_at { span.muted { " (decided " (layout::time(Some(at))) ")" } }
            @else { span.muted { " (no decision yet)" } }
        }
        h2 { "Host and Postgres" }
        (gauges(o.host.as_ref(), o.database.as_ref()))
        h2 { "Last decisions" }
        (decision_table(&o.decisions))
        p { a href="/autoscaler" { "The whole decision log and the policy" } }
    }
}
