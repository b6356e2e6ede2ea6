//! Operators' view of the dead set: list, replay one (same id, so its effect stays
//! idempotent), replay all.

use axum::{Json, extract::Path, http::StatusCode};
use coin_shared::{
    domain::FieldError,
    jobs::{ALL_QUEUES, selected_queues},
    operations::audit_action,
    queue::DeadEntry,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::{
    extract::ApiJson,
    openapi::{DeadJobReplayed, ReplayedCount},
    operator::{Audit, Operator},
    paging::ApiQuery,
    problem::{ApiError, ApiResult},
    responses::{OperatorActionResponses, OperatorEntityResponses, OperatorListResponses},
};

/// Query of `GET /v1/dead-jobs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeadQuery {
    /// Only this queue (goodwill, votes, governance, webhooks, distribution, operations).
    #[param(example = "goodwill")]
    pub queue: Option<String>,
    /// Per queue (1..=500, default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// A page of dead jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadPage {
    /// Newest first, per queue.
    pub items: Vec<DeadEntry>,
}

fn queues(only: Option<&str>) -> ApiResult<Vec<&'static str>> {
    selected_queues(only).ok_or_else(|| {
        ApiError::Validation(vec![FieldError::new(
            "queue",
            format!("must be one of {}", ALL_QUEUES.join(", ")),
        )])
    })
}

/// `GET /v1/dead-jobs` (operator).
#[utoipa::path(get, path = "/v1/dead-jobs", operation_id = "list_dead_jobs", tag = "dead jobs",
    params(DeadQuery),
    responses((status = 200, description = "The dead jobs.", body = DeadPage),
        OperatorListResponses))]
pub async fn list(op: Operator, ApiQuery(query): ApiQuery<DeadQuery>) -> ApiResult<Json<DeadPage>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "limit",
            "must be from 1 to 500",
        )]));
    }
    let mut items = Vec::new();
    for queue in queues(query.queue.as_deref())? {
        items.extend(op.state.queue.dead(queue, 0, limit).await?);
    }
    Ok(Json(DeadPage { items }))
}

/// `POST /v1/dead-jobs/{id}/replay` (operator): 202 when the job was dead and is queued again.
///
/// The job keeps its id, so replaying it is itself idempotent; no `Idempotency-Key` is read.
#[utoipa::path(post, path = "/v1/dead-jobs/{id}/replay", operation_id = "replay_dead_job",
    tag = "dead jobs", params(("id" = String, Path, description = "The dead job's `job_id`.")),
    responses((status = 202, description = "Queued again.", body = DeadJobReplayed),
        OperatorEntityResponses))]
pub async fn replay(
    op: Operator,
    Path(job_id): Path<String>,
) -> ApiResult<(StatusCode, Json<DeadJobReplayed>)> {
    op.act(async {
        let queue = op
            .state
            .queue
            .replay_by_id(&job_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no dead job has the id `{job_id}`")))?;
        tracing::info!(job.id = %job_id, queue, "dead job replayed by an operator");
        let answer = (
            StatusCode::ACCEPTED,
            Json(DeadJobReplayed {
                status_url: format!("/v1/jobs/{job_id}"),
                job_id: job_id.clone(),
                queue: queue.to_owned(),
            }),
        );
        let details = json!({"queue": queue});
        let audit = Audit::job(audit_action::DEAD_JOB_REPLAYED, &job_id, details);
        Ok((answer, vec![audit]))
    })
    .await
}

/// The body of `POST /v1/dead-jobs:replay-all` (`{}` for every queue).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayAll {
    /// Only this queue; all queues by default.
    pub queue: Option<String>,
}

/// `POST /v1/dead-jobs:replay-all` (operator): replays every dead job, answers how many.
#[utoipa::path(post, path = "/v1/dead-jobs:replay-all", operation_id = "replay_all_dead_jobs",
    tag = "dead jobs", request_body = ReplayAll,
    responses(
        (status = 200, description = "Every dead job (of the queue) was queued again.",
            body = ReplayedCount),
        OperatorActionResponses,
    ))]
pub async fn replay_all(op: Operator, body: ApiJson<ReplayAll>) -> ApiResult<Json<ReplayedCount>> {
    op.act(async {
        let mut replayed = 0;
        let mut audits = Vec::new();
        for queue in queues(body.queue.as_deref())? {
            let count = op.state.queue.replay_all(queue).await?;
            if count > 0 {
                let details = json!({"count": count});
                audits.push(Audit::queue(
                    audit_action::DEAD_JOBS_REPLAYED,
                    queue,
                    details,
                ));
            }
            replayed += count;
        }
        tracing::info!(replayed, "dead jobs replayed by an operator");
        Ok((Json(ReplayedCount { replayed }), audits))
    })
    .await
}
