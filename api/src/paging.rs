//! Keyset pagination shared by the list endpoints: the query string ([`ApiQuery`]), the page size, and the
//! split of `limit + 1` fetched rows into a page and its `next_cursor`, all three in [`keyset`].

use axum::{
    extract::{FromRequestParts, Query},
    http::request::Parts,
};
use coin_shared::domain::FieldError;
use serde::{Serialize, de::DeserializeOwned};
use sqlx::{
    PgPool, Postgres,
    postgres::{PgArguments, PgRow},
    query::Map,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::problem::{ApiError, ApiResult};

/// Page size when the query names none.
pub const DEFAULT_PAGE_SIZE: i64 = 20;

/// The parsed query string; extracting it answers `400` saying what is wrong with it.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T> std::ops::Deref for ApiQuery<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Query::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::BadRequest {
                detail: e.body_text(),
                field: None,
            })
    }
}

/// A page of a keyset-paged list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// Newest first.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<Uuid>,
}

/// `limit` (default [`DEFAULT_PAGE_SIZE`]) if it is within `1..=max`, `422` otherwise.
pub fn page_size(limit: Option<i64>, max: i64) -> ApiResult<i64> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::Validation(vec![FieldError::new(
            "limit",
            format!("must be from 1 to {max}"),
        )]))
    }
}

/// Splits rows fetched with `LIMIT limit + 1` into the page (at most `limit` rows) and the
/// cursor of the next page: the id of the page's last row, when there was one more row.
pub fn split<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<Uuid>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more { rows.last().map(id) } else { None };
    (rows, next_cursor)
}

/// One page of a keyset-paged list read from `pool`: the page size from `limit` (see
/// [`page_size`]), the rows of the query `page` makes for one row more than that (the rows
/// after the cursor, newest first), split into the page and its `next_cursor` by their `id`.
pub async fn keyset<'q, T, F>(
    pool: &PgPool,
    limit: Option<i64>,
    max: i64,
    page: impl FnOnce(i64) -> Map<'q, Postgres, F, PgArguments>,
    id: impl Fn(&T) -> Uuid,
) -> ApiResult<Page<T>>
where
    T: Send + Unpin,
    F: FnMut(PgRow) -> Result<T, sqlx::Error> + Send,
{
    let limit = page_size(limit, max)?;
    let rows = page(limit + 1).fetch_all(pool).await?;
    let (items, next_cursor) = split(rows, limit, id);
    Ok(Page { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_has_a_cursor_only_when_more_rows_follow() {
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        assert_eq!(
            split(ids.clone(), 3, |u| *u),
            (ids[..3].to_vec(), Some(ids[2]))
        );
        assert_eq!(
            split(ids[..3].to_vec(), 3, |u| *u),
            (ids[..3].to_vec(), None)
        );
        assert_eq!(split(Vec::<Uuid>::new(), 3, |u| *u), (vec![], None));
    }

    #[test]
    fn page_sizes_outside_the_range_are_refused() {
        assert_eq!(page_size(None, 50).ok(), Some(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(Some(50), 50).ok(), Some(50));
        for bad in [0, -1, 51] {
            assert!(matches!(
                page_size(Some(bad), 50),
                Err(ApiError::Validation(_))
            ));
        }
    }
}
