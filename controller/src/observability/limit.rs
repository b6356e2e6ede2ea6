//! The list endpoints: the `limit` query parameter (default 10, at most 100, a bad value is a
//! 400) and the one handler that answers the newest rows of a table with it.

use std::{collections::HashMap, future::Future};

use axum::{
    Json,
    extract::{Query, State},
    http::StatusCode,
};
use chrono::Utc;
use serde_json::{Map, Value};
use sqlx::PgPool;

use super::node::{ApiError, NodeState, timestamp};

/// Rows returned when no limit is given.
pub const DEFAULT_LIMIT: i64 = 10;
/// Most rows one request may return; larger limits are lowered to it.
pub const MAX_LIMIT: i64 = 100;

/// Reads `limit` from the query string.
pub fn parse(query: &HashMap<String, String>) -> Result<i64, ApiError> {
    let Some(raw) = query.get("limit") else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.trim().parse::<i64>() {
        Ok(limit) if limit >= 1 => Ok(limit.min(MAX_LIMIT)),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be an integer from 1 to {MAX_LIMIT}"),
        )),
    }
}

/// The newest rows `fetch` reads with the `?limit=` of `query` (its `$1`), and that limit.
pub(super) async fn latest<T>(
    query: &HashMap<String, String>,
    fetch: impl AsyncFnOnce(i64) -> Result<Vec<T>, sqlx::Error>,
) -> Result<(i64, Vec<T>), ApiError> {
    let limit = parse(query)?;
    let rows = fetch(limit).await.map_err(|e| ApiError::database(&e))?;
    Ok((limit, rows))
}

/// A row of a list endpoint: how the newest rows are read and how one is shown.
pub(super) trait Listed: Sized + Send {
    /// The key of the list in the answer.
    const KEY: &'static str;
    /// The newest `limit` rows, newest first, of those the other parameters of `query` select
    /// (each list says which it reads; the others are ignored).
    fn newest(
        pool: &PgPool,
        limit: i64,
        query: &HashMap<String, String>,
    ) -> impl Future<Output = Result<Vec<Self>, sqlx::Error>> + Send;
    /// The row as the endpoint shows it.
    fn view(self) -> Value;
}

/// `GET …?limit=`: `{count, limit, <T::KEY>: [rows], timestamp}`, the newest `T` rows first.
pub(super) async fn list<T: Listed>(
    State(state): State<NodeState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (limit, rows) = latest(&query, async |limit| {
        T::newest(&state.pool, limit, &query).await
    })
    .await?;
    let items: Vec<Value> = rows.into_iter().map(T::view).collect();
    let mut answer = Map::new();
    answer.insert("count".into(), items.len().into());
    answer.insert("limit".into(), limit.into());
    answer.insert(T::KEY.into(), items.into());
    answer.insert("timestamp".into(), timestamp(Utc::now()).into());
    Ok(Json(Value::Object(answer)))
}

#[cfg(test)]
mod tests {
    use crate::observability::limit::*;

    fn query(limit: &str) -> HashMap<String, String> {
        HashMap::from([("limit".to_owned(), limit.to_owned())])
    }

    #[test]
    fn limit_defaults_to_10_caps_at_100_and_refuses_garbage() {
        assert_eq!(parse(&HashMap::new()).ok(), Some(10));
        assert_eq!(parse(&query("25")).ok(), Some(25));
        assert_eq!(parse(&query("1000")).ok(), Some(100));
        for bad in ["0", "-3", "ten", "", "1.5"] {
            assert!(parse(&query(bad)).is_err(), "{bad:?} was accepted");
        }
    }
}
