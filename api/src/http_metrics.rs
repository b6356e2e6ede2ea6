//! Request counter and latency histogram, labelled by route template (never by raw path, which
//! would explode cardinality).

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};

/// Records `coin_http_requests_total{route,method,status}` and
/// `coin_http_request_duration_seconds{route,method}` for every request.
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        coin_shared::metric_names::HTTP_REQUESTS_TOTAL,
        "route" => route.clone(),
        "method" => method.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        coin_shared::metric_names::HTTP_REQUEST_DURATION_SECONDS,
        "route" => route,
        "method" => method
    )
    .record(started.elapsed().as_secs_f64());
    response
}
