//! Static files embedded in the binary: htmx and uPlot (vendored, pinned: see
//! `controller/assets/README.md`),
//! the console's small script and stylesheet. Versioned paths, so they are cached for a year.

use axum::{
    Router,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};

/// htmx 2.0.4, minified, as published on npm (`htmx.org@2.0.4`, `dist/htmx.min.js`).
const HTMX: &str = include_str!("../../assets/htmx-2.0.4.min.js");
/// uPlot 1.6.32, minified, as published on npm (`uplot@1.6.32`, `dist/uPlot.iife.min.js`, and
/// its stylesheet `dist/uPlot.min.css`).
const UPLOT: &str = include_str!("../../assets/uplot-1.6.32.min.js");
const UPLOT_CSS: &str = include_str!("../../assets/uplot-1.6.32.min.css");
const JS: &str = include_str!("../../assets/console.js");
const CSS: &str = include_str!("../../assets/console.css");

/// Where the pages load htmx from.
pub const HTMX_PATH: &str = "/assets/htmx-2.0.4.min.js";
/// Where the pages load uPlot and its stylesheet from (the overview's chart).
pub const UPLOT_PATH: &str = "/assets/uplot-1.6.32.min.js";
/// uPlot's stylesheet.
pub const UPLOT_CSS_PATH: &str = "/assets/uplot-1.6.32.min.css";
/// The console's script (live updates by SSE, their pause button, the chart).
pub const JS_PATH: &str = concat!("/assets/console-", env!("CARGO_PKG_VERSION"), ".js");
/// The console's stylesheet.
pub const CSS_PATH: &str = concat!("/assets/console-", env!("CARGO_PKG_VERSION"), ".css");

/// The asset routes; no session needed.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(HTMX_PATH, get(|| async { asset("text/javascript", HTMX) }))
        .route(
            UPLOT_PATH,
            get(|| async { asset("text/javascript", UPLOT) }),
        )
        .route(
            UPLOT_CSS_PATH,
            get(|| async { asset("text/css", UPLOT_CSS) }),
        )
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
