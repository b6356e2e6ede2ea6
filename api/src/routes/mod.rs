//! The route table, and the fallbacks that keep even unknown routes in problem+json.

mod goodwill;
mod health;
mod jobs;
mod wallets;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::Uri,
    middleware,
    routing::{get, post},
};

use crate::{http_metrics, problem::ApiError, state::AppState};

/// Every route of the API.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/v1/goodwill-actions", post(goodwill::record))
        .route("/v1/users/{id}/wallet", get(wallets::wallet))
        .route("/v1/jobs/{id}", get(jobs::status))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(http_metrics::record))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Parses a UUID path segment, answering 404 (not 500, not a plain-text 400) when it is not one.
fn parse_id(raw: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("no {what} has the id `{raw}`")))
}
