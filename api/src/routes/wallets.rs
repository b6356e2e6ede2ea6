//! `GET /v1/users/{id}/wallet`: a wallet's balance, read from Postgres.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    extract::{PathId, User},
    problem::ApiError,
    responses::ReadResponses,
    state::AppState,
};

/// A wallet as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Wallet {
    /// The wallet's id.
    pub id: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    /// Points, equal to the sum of its ledger entries.
    pub balance: i64,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The wallet of one user; 404 until the user's first action has been processed.
#[utoipa::path(get, path = "/v1/users/{id}/wallet", operation_id = "get_wallet", tag = "users",
    params(("id" = Uuid, Path, description = "The wallet's owner.")),
    responses((status = 200, description = "The wallet.", body = Wallet), ReadResponses))]
pub async fn wallet(
    State(state): State<AppState>,
    PathId(user_id, _): PathId<User>,
) -> Result<Json<Wallet>, ApiError> {
    let wallet = find(&state.read_pool, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user `{user_id}` has no wallet yet")))?;
    Ok(Json(wallet))
}

/// The wallet of `user_id`, if it has one.
pub async fn find(pool: &sqlx::PgPool, user_id: Uuid) -> Result<Option<Wallet>, ApiError> {
    Ok(sqlx::query_as!(
        Wallet,
        "SELECT id, user_id, balance, updated_at FROM wallets WHERE user_id = $1",
        user_id
    )
    .fetch_optional(pool)
    .await?)
}
