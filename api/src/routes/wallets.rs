//! A wallet as clients see it, read from Postgres: in `GET /v1/users/{id}` and on its own at
//! `GET /v1/users/{id}/wallet` (both served by `routes::users`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::problem::ApiResult;

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

/// The wallet of `user_id`, if it has one.
pub async fn find(pool: &sqlx::PgPool, user_id: Uuid) -> ApiResult<Option<Wallet>> {
    Ok(sqlx::query_as!(
        Wallet,
        "SELECT id, user_id, balance, updated_at FROM wallets WHERE user_id = $1",
        user_id
    )
    .fetch_optional(pool)
    .await?)
}
