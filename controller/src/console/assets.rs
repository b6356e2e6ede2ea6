//! Static files embedded in the binary: htmx (vendored, pinned: see `controller/assets/README.md`),
//! the console's small script and stylesheet. Versioned paths, so they are cached for a year.

use axum::{
    Router,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};

/// htmx 2.0.4, minified, as published on npm (`htmx.org@2.0.4`, `dist/htmx.min.js`).
const HTMX: &str = include_str!("../../assets/htmx-2.0.4.min.js");
const JS: &str = include_str!("../../assets/console.js");
const CSS: &str = include_str!("../../assets/console.css");

/// Where the pages load htmx from.
pub const HTMX_PATH: &str = "/assets/htmx-2.0.4.min.js";
/// The console's script (live updates by SSE, their pause button).
pub const JS_PATH: &str = concat!("/assets/console-", env!("CARGO_PKG_VERSION"), ".js");
/// The console's stylesheet.
pub const CSS_PATH: &str = concat!("/assets/console-", env!("CARGO_PKG_VERSION"), ".css");

/// The asset routes; no session needed.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(HTMX_PATH, get(|| async { asset("text/javascript", HTMX) }))
        .route(JS_PATH, get(|| async { asset("text/javascript", JS) }))
        .route(CSS_PATH, get(|| async { asset("text/css", CSS) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}
