//! `GET /v1/jobs/{id}`: where a job stands.

use axum::{
    Json,
    extract::{Path, State},
};
use coin_shared::{
    jobs::ALL_QUEUES,
    queue::{JobId, JobStatus},
};

use crate::{problem::ApiError, state::AppState};

/// The job's state, attempts and last result; 404 for an unknown id.
pub async fn status(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
) -> Result<Json<JobStatus>, ApiError> {
    let id = JobId(super::parse_id(&raw_id, "job")?);
    let status = state
        .queue
        .status(ALL_QUEUES, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job has the id `{id}`")))?;
    Ok(Json(status))
}
