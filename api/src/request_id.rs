//! The request span and `X-Request-Id`: every request runs in a `request` span naming its
//! method, matched route, request id and (once authenticated) the caller's role, so every log
//! line of a request names it; the id is the client's (a visible-ASCII value of at most
//! [`MAX_LEN`] characters) or a fresh UUID, and is echoed on every answer, errors and 404s
//! included.

use axum::{
    extract::{MatchedPath, Request},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

/// The header, in and out.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Longest client id kept; a longer (or otherwise unusable) one is replaced.
pub const MAX_LEN: usize = 128;

/// The client's id when it is sane, else a fresh UUID.
fn request_id(request: &Request) -> HeaderValue {
    request
        .headers()
        .get(&HEADER)
        .filter(|v| {
            let bytes = v.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_LEN
                && bytes.iter().all(|b| b.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            let mut buffer = uuid::Uuid::encode_buffer();
            let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
            HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
        })
}

/// Runs the request in its span and echoes (or mints) its `X-Request-Id`. The outermost layer.
pub async fn span(mut request: Request, next: Next) -> Response {
    let id = request_id(&request);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        request_id = %id.to_str().unwrap_or_default(),
        role = tracing::field::Empty,
    );
    request.headers_mut().insert(HEADER.clone(), id.clone());
    let mut response = next.run(request).instrument(span).await;
    response.headers_mut().insert(HEADER.clone(), id);
    response
}
