//! `POST /v1/goodwill-actions`: validate, authorize, enqueue a `RecordGoodwill` job, answer 202.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use coin_shared::{
    domain::{FieldError, GoodwillDraft, validate_goodwill},
    jobs::{Job, RecordGoodwill},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    auth::{Caller, Role},
    extract::ApiJson,
    problem::ApiError,
    state::AppState,
};

/// The body of `POST /v1/goodwill-actions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoodwillRequest {
    /// Whose action it is: required for `service` tokens, optional (and must be the caller)
    /// otherwise.
    pub user_id: Option<Uuid>,
    /// What kind of good was done.
    pub action_type: String,
    /// Free text.
    pub description: String,
    /// Points it is worth (1..=100). Wide type so an out-of-range number is a rule error, not a
    /// parse error.
    pub loves_value: i64,
    /// Optional context object.
    pub contextual_data: Option<Map<String, Value>>,
    /// When it happened; defaults to now; at most 300 s in the future.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// The 202 answer.
#[derive(Debug, Serialize)]
pub struct Accepted {
    /// The job that will record the action.
    pub job_id: String,
    /// The action's id, the same for every retry of the job.
    pub action_id: Uuid,
    /// Where to follow the job.
    pub status_url: String,
}

/// Turns a request into a job, checking every rule the worker would; no Postgres write here.
pub fn to_job(
    caller: Caller,
    request: GoodwillRequest,
    now: DateTime<Utc>,
) -> Result<RecordGoodwill, ApiError> {
    let user_id = match (caller.role, request.user_id) {
        (Role::Service, Some(user)) => user,
        (Role::Service, None) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "user_id",
                "is required when a service posts on behalf of a user",
            )]));
        }
        (_, Some(user)) if user != caller.user_id => {
            return Err(ApiError::Forbidden(
                "a member may only record its own goodwill actions".into(),
            ));
        }
        (_, _) => caller.user_id,
    };
    let context = request.contextual_data.unwrap_or_default();
    let occurred_at = request.occurred_at.unwrap_or(now);
    let draft = GoodwillDraft {
        action_type: &request.action_type,
        description: &request.description,
        loves_value: request.loves_value,
        context_bytes: serde_json::to_vec(&context).map(|v| v.len()).unwrap_or(0),
        occurred_at,
    };
    let errors = validate_goodwill(&draft, now);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(RecordGoodwill {
        action_id: Uuid::now_v7(),
        user_id,
        action_type: request.action_type.trim().to_owned(),
        description: request.description.trim().to_owned(),
        // In range: checked by `validate_goodwill` above.
        loves_value: i32::try_from(request.loves_value).unwrap_or_default(),
        occurred_at,
        context,
        requested_by: caller.user_id,
        requested_at: now,
    })
}

/// Validates and enqueues one goodwill action.
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<GoodwillRequest>,
) -> Result<Response, ApiError> {
    let job = to_job(caller, request, Utc::now())?;
    let job_id = state.queue.enqueue(&job).await?;
    metrics::counter!("coin_jobs_enqueued_total", "queue" => RecordGoodwill::QUEUE).increment(1);
    let status_url = format!("/v1/jobs/{job_id}");
    tracing::info!(job.id = %job_id, action.id = %job.action_id, "goodwill action enqueued");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, status_url.clone())],
        Json(Accepted {
            job_id: job_id.to_string(),
            action_id: job.action_id,
            status_url,
        }),
    )
        .into_response())
}
