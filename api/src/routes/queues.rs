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

/// One queue as operators see it: its name and its depth, latency, rates and pause state as
/// the queue reads them (one script call).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QueueOverview {
    /// The queue's name.
    pub queue: String,
    /// Its depths, latency, rates, live workers and pause state.
    #[serde(flatten)]
    pub depth: QueueDepth,
}

impl QueueOverview {
    fn of(queue: &str, depth: QueueDepth) -> Self {
        Self {
            queue: queue.to_owned(),
            depth,
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
