//! Operators' view of the job queues: the overview of every queue, and pause and resume.
//!
//! A pause is one key in Redis: within about 250 ms no worker fetches from the queue (jobs in
//! flight finish), it holds across worker restarts, the API keeps accepting into the queue, and
//! the controller does not scale up for its backlog (decision reason `QueuePaused`).

use axum::{Json, extract::Path};
use coin_shared::{
    jobs::{ALL_QUEUES, queue_named},
    operations::audit_action,
    queue::QueueDepth,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::{
    operator::{Audit, Operator},
    problem::{ApiError, ApiResult},
    responses::{OperatorEntityResponses, OperatorReadResponses},
};

/// One queue as operators see it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QueueOverview {
    /// The queue's name.
    pub queue: String,
    /// In the ready list (cancelled entries included until a worker drops them).
    pub ready: u64,
    /// Scheduled for later (delayed, or waiting for a retry).
    pub scheduled: u64,
    /// Held by live workers (running or prefetched).
    pub inflight: u64,
    /// Failed for good, waiting for an operator.
    pub dead: u64,
    /// Cancelled by operators, kept until deleted.
    pub cancelled: u64,
    /// Completed since the queue was created.
    pub done: u64,
    /// Age in seconds of the oldest job waiting to run (ready or due); 0 when none waits.
    pub latency_secs: f64,
    /// Jobs enqueued per second over about the last 10 s; `null` until two reads a second
    /// apart exist.
    pub enqueue_per_sec: Option<f64>,
    /// Jobs completed per second over the same window.
    pub completion_per_sec: Option<f64>,
    /// Workers fetch nothing from a paused queue; the API keeps accepting into it.
    pub paused: bool,
    /// Workers with a fresh heartbeat on this queue.
    pub live_workers: u64,
}

impl QueueOverview {
    fn of(queue: &str, d: QueueDepth) -> Self {
        Self {
            queue: queue.to_owned(),
            ready: d.ready,
            scheduled: d.scheduled,
            inflight: d.inflight,
            dead: d.dead,
            cancelled: d.cancelled,
            done: d.done,
            latency_secs: d.latency_secs,
            enqueue_per_sec: d.enqueue_per_sec,
            completion_per_sec: d.completion_per_sec,
            paused: d.paused,
            live_workers: d.live_workers,
        }
    }
}

/// `200` of `GET /v1/queues`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueList {
    /// Every queue, in a fixed order.
    pub items: Vec<QueueOverview>,
}

/// `200` of a pause or a resume: the queue as it is now, and whether this request changed it.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueToggled {
    /// The queue after the request.
    #[serde(flatten)]
    pub overview: QueueOverview,
    /// False when the queue already was paused (or running): nothing was done or audited.
    pub changed: bool,
    /// What happened, in words: `paused`, `already paused`, `resumed`, `already running`.
    pub detail: String,
}

/// The queue named `name`; 404 for an unknown name.
fn known(name: &str) -> ApiResult<&'static str> {
    queue_named(name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no queue is named `{name}` (known: {})",
            ALL_QUEUES.join(", ")
        ))
    })
}

/// `GET /v1/queues` (operator): depth, latency, rates and pause state of every queue.
#[utoipa::path(get, path = "/v1/queues", operation_id = "list_queues", tag = "queues",
    responses((status = 200, description = "Every queue.", body = QueueList),
        OperatorReadResponses))]
pub async fn list(op: Operator) -> ApiResult<Json<QueueList>> {
    let items = op
        .state
        .queue
        .overview()
        .await?
        .into_iter()
        .map(|(queue, depth)| QueueOverview::of(queue, depth))
        .collect();
    Ok(Json(QueueList { items }))
}

step_routes! {
    tag = "queues",
    params(("queue" = String, Path, description = "The queue (goodwill, votes, governance, \
        webhooks, distribution, operations).")),
    responses((status = 200, description = "The queue after the request.", body = QueueToggled),
        OperatorEntityResponses),
    docs(),
    fn(op: Operator, queue: Path<String>) -> ApiResult<Json<QueueToggled>> = toggle;
    /// `POST /v1/queues/{queue}/pause` (operator): workers stop fetching from the queue within
    /// about 250 ms; jobs in flight finish, and the API keeps accepting into it. Pausing a
    /// paused queue answers 200 too (`changed: false`).
    pause = true, "/v1/queues/{queue}/pause", "pause_queue";
    /// `POST /v1/queues/{queue}/resume` (operator): workers fetch from the queue again.
    /// Resuming a running queue answers 200 too (`changed: false`).
    resume = false, "/v1/queues/{queue}/resume", "resume_queue";
}

/// Pauses (`pause`) or resumes the queue the path names, auditing a change.
async fn toggle(
    op: Operator,
    Path(name): Path<String>,
    pause: bool,
) -> ApiResult<Json<QueueToggled>> {
    op.act(async {
        let queue = known(&name)?;
        let state = &op.state;
        let changed = if pause {
            state.queue.pause(queue, &op.actor()).await
        } else {
            state.queue.resume(queue).await
        }?;
        let overview = QueueOverview::of(queue, state.queue.depth(queue).await?);
        let (verb, action) = if pause {
            ("paused", audit_action::QUEUE_PAUSED)
        } else {
            ("resumed", audit_action::QUEUE_RESUMED)
        };
        let detail = match (changed, pause) {
            (true, _) => verb.to_owned(),
            (false, true) => "already paused".to_owned(),
            (false, false) => "already running".to_owned(),
        };
        let audits = if changed {
            vec![Audit::queue(action, queue, json!({}))]
        } else {
            vec![]
        };
        tracing::info!(queue, changed, pause, "queue pause toggled by an operator");
        Ok((
            Json(QueueToggled {
                overview,
                changed,
                detail,
            }),
            audits,
        ))
    })
    .await
}
