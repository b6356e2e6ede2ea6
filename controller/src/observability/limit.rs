//! The `limit` query parameter: default 10, at most 100, a bad value is a 400.

use std::collections::HashMap;

use axum::http::StatusCode;

use super::node::ApiError;

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
