//! Request counter and latency histogram, labelled by route template (never by raw path, which
//! would explode cardinality). Recorded by the request span's service
//! (`crate::request_id::RequestSpan`) when the answer is ready: one layer does the span, the id
//! and the metrics, rather than three.

use std::time::Instant;

use axum::http::{Method, StatusCode};

/// Records `coin_http_requests_total{route,method,status}` and
/// `coin_http_request_duration_seconds{route,method}` for one request.
pub fn record(route: &str, method: &Method, status: StatusCode, started: Instant) {
    let (route, method) = (route.to_owned(), method.as_str().to_owned());
    metrics::counter!(
        coin_shared::metric_names::HTTP_REQUESTS_TOTAL,
        "route" => route.clone(),
        "method" => method.clone(),
        "status" => status.as_u16().to_string()
    )
    .increment(1);
    metrics::histogram!(
        coin_shared::metric_names::HTTP_REQUEST_DURATION_SECONDS,
        "route" => route,
        "method" => method
    )
    .record(started.elapsed().as_secs_f64());
}
