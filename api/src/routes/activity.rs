//! `GET /v1/activity`: the public feed of state changes, from audit_log. Ids and kinds only:
//! audit details (which may hold personal text) stay private. The route comes first, then the
//! query it reads and the event it answers.

use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    paging::{self, ApiQuery, Page},
    problem::ApiResult,
    responses::ListResponses,
    state::ReadDb,
};

/// The public feed of state changes, newest first.
#[utoipa::path(get, path = "/v1/activity", operation_id = "list_activity", tag = "activity",
    params(ActivityQuery),
    responses((status = 200, description = "A page of events.", body = Page<Event>),
        ListResponses))]
pub async fn list(db: ReadDb, query: ApiQuery<ActivityQuery>) -> ApiResult<Json<Page<Event>>> {
    let page = paging::keyset(
        &db.0,
        query.limit,
        100,
        |fetch| {
            sqlx::query_as!(
                Event,
                "SELECT id, action_type, actor_user_id AS actor_id, subject_type, subject_id,
                        created_at
                 FROM audit_log
                 WHERE $1::uuid IS NULL
                    OR (created_at, id) < (SELECT created_at, id FROM audit_log WHERE id = $1)
                 ORDER BY created_at DESC, id DESC LIMIT $2",
                query.cursor,
                fetch
            )
        },
        |event| event.id,
    )
    .await?;
    Ok(Json(page))
}

/// Query of `GET /v1/activity`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActivityQuery {
    /// Page size (1..=100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
}

/// One event of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    /// The audit row's id.
    pub id: Uuid,
    /// What happened.
    #[schema(example = "VOTE_CAST")]
    pub action_type: String,
    /// Who did it.
    pub actor_id: Option<Uuid>,
    /// What kind of thing changed.
    pub subject_type: String,
    /// Which one.
    pub subject_id: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}
