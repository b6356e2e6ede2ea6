//! The route table, and the fallbacks that keep even unknown routes in problem+json.

mod activity;
pub mod council;
mod dead_jobs;
pub mod delegations;
pub mod goodwill;
mod health;
mod jobs;
pub mod openapi;
pub mod proposals;
mod users;
pub(crate) mod wallets;
pub mod webhooks;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::Uri,
    middleware,
    routing::{delete, get, post},
};

use crate::{http_metrics, problem::ApiError, state::AppState};

/// Every route of the API.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/livez", get(health::livez))
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/v1/goodwill-actions", post(goodwill::record))
        .route("/v1/goodwill-actions:batch", post(goodwill::record_batch))
        .route(
            "/v1/proposals",
            post(proposals::create).get(proposals::list),
        )
        .route("/v1/proposals/{id}", get(proposals::get))
        .route("/v1/proposals/{id}/open", post(proposals::open))
        .route("/v1/proposals/{id}/close", post(proposals::close))
        .route("/v1/proposals/{id}/reject", post(proposals::reject))
        .route("/v1/proposals/{id}/votes", post(proposals::vote))
        .route("/v1/delegations", post(delegations::create))
        .route("/v1/delegations/{id}", delete(delegations::revoke))
        .route("/v1/council-members", post(council::add))
        .route("/v1/council-members/{id}/end", post(council::end))
        .route("/v1/users/{id}", get(users::get))
        .route("/v1/users/{id}/wallet", get(wallets::wallet))
        .route("/v1/activity", get(activity::list))
        .route("/v1/jobs/{id}", get(jobs::status))
        .route("/v1/dead-jobs", get(dead_jobs::list))
        .route("/v1/dead-jobs/{id}/replay", post(dead_jobs::replay))
        .route("/v1/dead-jobs:replay-all", post(dead_jobs::replay_all))
        .route("/v1/webhook-endpoints", post(webhooks::create))
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

/// Passes `job` through the shared validator the worker applies too: a command the API accepts
/// is one the worker will write. Every command route builds its job and ends here.
fn validated<J: coin_shared::validate::Validate>(job: J) -> Result<J, ApiError> {
    let errors = job.validate();
    if errors.is_empty() {
        Ok(job)
    } else {
        Err(ApiError::Validation(errors))
    }
}
