//! The route table, and the fallbacks that keep even unknown routes in problem+json.

mod activity;
pub mod council;
mod dead_jobs;
pub mod delegations;
pub mod goodwill;
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
    response::IntoResponse,
    routing::{delete, get, post},
};
use tower_http::catch_panic::CatchPanicLayer;

use crate::{http_metrics, problem::ApiError, state::AppState};

/// Every route of the API.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let ops = coin_shared::ops::Ops {
        service: "coin-api",
        pool: state.read_pool.clone(),
        queue: state.queue.clone(),
        metrics: state.metrics.clone(),
        details: None,
    };
    let routes = Router::new()
        .merge(coin_shared::ops::router(ops))
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
        .with_state(state);
    layered(routes, max_body_bytes)
}

/// What every route gets: problem+json fallbacks, the body limit, a caught panic answered as a
/// 500 problem+json, and the request metrics (outermost, so they count that 500 too).
fn layered<S: Clone + Send + Sync + 'static>(
    routes: Router<S>,
    max_body_bytes: usize,
) -> Router<S> {
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::Panicked.into_response()
        }))
        .layer(middleware::from_fn(http_metrics::record))
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

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request, routing::get};
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_problem_json_and_is_counted() {
        let metrics = coin_shared::telemetry::prometheus().expect("recorder");
        let app = layered(
            Router::new().route(
                "/boom/{id}",
                get(|| async {
                    if true {
                        panic!("boom");
                    }
                    "unreachable"
                }),
            ),
            1024,
        );
        let response = app
            .oneshot(
                Request::get("/boom/1")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(response.status().as_u16(), 500);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let problem: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(problem["status"], 500);
        assert_eq!(
            problem["type"],
            "https://peoples-coin.dev/problems/internal"
        );
        let exported = metrics.render();
        assert!(
            exported.lines().any(|line| line
                .starts_with(coin_shared::metric_names::HTTP_REQUESTS_TOTAL)
                && line.contains(r#"route="/boom/{id}""#)
                && line.contains(r#"status="500""#)),
            "{exported}"
        );
    }
}
