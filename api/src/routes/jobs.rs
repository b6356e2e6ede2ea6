//! `GET /v1/jobs/{id}`: where a job stands.

use axum::{Json, extract::State};
use coin_shared::{
    jobs::ALL_QUEUES,
    queue::{JobId, JobStatus},
};

use crate::{
    extract::{Job, PathId},
    problem::ApiError,
    responses::ReadResponses,
    state::AppState,
};

/// The job's state, attempts and last result; 404 for an unknown id.
#[utoipa::path(get, path = "/v1/jobs/{id}", operation_id = "get_job", tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "The job (`job_id` of a 202 answer).")),
    responses((status = 200, description = "Where the job stands.", body = JobStatus),
        ReadResponses))]
pub async fn status(
    State(state): State<AppState>,
    PathId(id, _): PathId<Job>,
) -> Result<Json<JobStatus>, ApiError> {
    let id = JobId(id);
    let status = state
        .queue
        .status(ALL_QUEUES, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job has the id `{id}`")))?;
    Ok(Json(status))
}
