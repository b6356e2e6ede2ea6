//! Public reads about a user: the user with its wallet and recent actions, and the wallet alone.

use axum::Json;
use chrono::{DateTime, Utc};
use coin_shared::status::GoodwillStatus;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    extract::{PathId, User},
    problem::{ApiError, ApiResult},
    responses::ReadResponses,
    routes::wallets::{self, Wallet},
    state::ReadDb,
};

/// One of a user's recent actions.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentAction {
    /// The action's id.
    pub id: Uuid,
    /// What kind of good.
    pub action_type: String,
    /// Points.
    #[schema(minimum = 1, maximum = 100)]
    pub loves_value: i32,
    /// PENDING_VERIFICATION, VERIFIED or REJECTED.
    pub status: GoodwillStatus,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When it was processed.
    pub processed_at: Option<DateTime<Utc>>,
}

/// The body of `GET /v1/users/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The user's id.
    pub id: Uuid,
    /// Known since.
    pub created_at: DateTime<Utc>,
    /// Their wallet, once they have one.
    pub wallet: Option<Wallet>,
    /// Their 10 latest actions, newest first.
    pub recent_actions: Vec<RecentAction>,
}

/// `GET /v1/users/{id}`: a user's wallet and latest actions.
#[utoipa::path(get, path = "/v1/users/{id}", operation_id = "get_user", tag = "users",
    params(("id" = Uuid, Path, description = "The user.")),
    responses((status = 200, description = "The user.", body = UserView), ReadResponses))]
pub async fn get(ReadDb(db): ReadDb, PathId(id, _): PathId<User>) -> ApiResult<Json<UserView>> {
    let created_at = sqlx::query_scalar!("SELECT created_at FROM users WHERE id = $1", id)
        .fetch_optional(&db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user has the id `{id}`")))?;
    let wallet = wallets::find(&db, id).await?;
    let recent_actions = sqlx::query_as!(
        RecentAction,
        r#"SELECT id, action_type, loves_value, status AS "status: GoodwillStatus", occurred_at,
                  processed_at
           FROM goodwill_actions WHERE performer_user_id = $1
           ORDER BY created_at DESC LIMIT 10"#,
        id
    )
    .fetch_all(&db)
    .await?;
    Ok(Json(UserView {
        id,
        created_at,
        wallet,
        recent_actions,
    }))
}

/// The wallet of one user; 404 until the user's first action has been processed.
#[utoipa::path(get, path = "/v1/users/{id}/wallet", operation_id = "get_wallet", tag = "users",
    params(("id" = Uuid, Path, description = "The wallet's owner.")),
    responses((status = 200, description = "The wallet.", body = Wallet), ReadResponses))]
pub async fn wallet(
    ReadDb(db): ReadDb,
    PathId(user_id, _): PathId<User>,
) -> ApiResult<Json<Wallet>> {
    let wallet = wallets::find(&db, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user `{user_id}` has no wallet yet")))?;
    Ok(Json(wallet))
}
