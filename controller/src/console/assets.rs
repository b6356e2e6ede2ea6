//! Static files embedded in the binary: htmx and uPlot (vendored, pinned: see
//! `controller/assets/README.md`),
//! the console's small script and stylesheet. Versioned paths, so they are cached for a year:
//! the vendored files by their release, ours by a hash of their contents computed at compile
//! time (an edited `console.js` gets a new URL without a version bump).

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
/// The console's script (live updates by SSE, their pause button, the chart and its markers),
/// at `/assets/console-<content hash>.js`.
pub const JS_PATH: &str = ascii(&JS_PATH_BYTES);
/// The console's stylesheet, at `/assets/console-<content hash>.css`.
pub const CSS_PATH: &str = ascii(&CSS_PATH_BYTES);

const STEM: &[u8] = b"/assets/console-";
/// Hex digits of a content hash in a path.
const DIGITS: usize = 16;
const JS_PATH_BYTES: [u8; STEM.len() + DIGITS + 3] = versioned(content_hash(JS.as_bytes()), b".js");
const CSS_PATH_BYTES: [u8; STEM.len() + DIGITS + 4] =
    versioned(content_hash(CSS.as_bytes()), b".css");

/// FNV-1a (64 bits) of `bytes`: the version in the paths of our own assets. Not a security
/// measure: it only has to change whenever the file does.
const fn content_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `/assets/console-<hash as 16 hex digits><ext>`; `N` is its length (a wrong one fails the
/// build, as const evaluation does).
const fn versioned<const N: usize>(hash: u64, ext: &[u8]) -> [u8; N] {
    let mut path = [0u8; N];
    let mut i = 0;
    while i < N {
        path[i] = if i < STEM.len() {
            STEM[i]
        } else if i < STEM.len() + DIGITS {
            let shift = 4 * (STEM.len() + DIGITS - 1 - i);
            b"0123456789abcdef"[((hash >> shift) & 0xf) as usize]
        } else {
            ext[i - STEM.len() - DIGITS]
        };
        i += 1;
    }
    path
}

/// The path's bytes as text; they are ASCII by construction, so the build fails otherwise.
const fn ascii(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(path) => path,
        Err(_) => panic!("an asset path is ASCII"),
    }
}

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

#[cfg(test)]
mod tests {
    use crate::console::assets::{CSS, CSS_PATH, JS, JS_PATH, content_hash};

    #[test]
    fn our_asset_paths_carry_the_hash_of_the_embedded_bytes() {
        assert_eq!(
            content_hash(b""),
            0xcbf2_9ce4_8422_2325,
            "FNV-1a's offset basis"
        );
        assert_eq!(
            content_hash(b"a"),
            0xaf63_dc4c_8601_ec8c,
            "FNV-1a's test vector"
        );
        let js = format!("/assets/console-{:016x}.js", content_hash(JS.as_bytes()));
        let css = format!("/assets/console-{:016x}.css", content_hash(CSS.as_bytes()));
        assert_eq!((JS_PATH, CSS_PATH), (js.as_str(), css.as_str()));
        assert_ne!(
            content_hash(JS.as_bytes()),
            content_hash(format!("{JS} ").as_bytes()),
            "an edit, a new URL"
        );
    }
}
