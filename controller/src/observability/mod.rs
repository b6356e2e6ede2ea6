//! The Observability Node: a read-only JSON view of the system for operators, in the response
//! shapes of the original People's Coin README. GET only; no secrets and no personal data.

mod audit;
mod decisions;
mod governance;
mod health;
mod limit;
mod node;
mod system_state;

pub use node::{ApiError, NodeState, timestamp};

use axum::{
    Router,
    extract::Request,
    http::{Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};

/// `/livez`, `/health`, `/metrics` and the `/api/...` routes, GET only.
pub fn router(state: NodeState) -> Router {
    let started = state.started;
    let ops = coin_shared::ops::Ops {
        service: "coin-controller",
        pool: state.pool.clone(),
        queue: state.queue.clone(),
        metrics: state.metrics.clone(),
        details: Some(std::sync::Arc::new(move |report| {
            health::details(report, started)
        })),
        readiness: coin_shared::health::Readiness::PostgresAndRedis,
    };
    Router::new()
        .merge(coin_shared::ops::router(ops))
        .route("/api/system_state", get(system_state::system_state))
        .route(
            "/api/controller_decisions",
            get(limit::list::<decisions::Row>),
        )
        .route("/api/governance_state", get(governance::governance_state))
        .route("/api/audit_summary", get(limit::list::<audit::Row>))
        .fallback(not_found)
        .layer(middleware::from_fn(read_only))
        .with_state(state)
}

/// Refuses every method but GET and HEAD, on every path.
async fn read_only(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "the Observability Node is read-only: only GET is allowed",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
    response
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}
