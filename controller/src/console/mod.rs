//! The operator console: server-rendered HTML on `CONSOLE_HOST:CONSOLE_PORT`, beside the
//! read-only Observability Node. Operators sign in with an operator JWT (`auth`), get a
//! server-side session (`session`), and every form that changes something carries the session's
//! CSRF token. Pages: `overview` (live by SSE), `queues`, `jobs`, `autoscaler`; every action goes
//! through the shared queue operations and is audited.

mod assets;
mod audit;
mod auth;
mod autoscaler;
mod chart;
mod error;
mod governance;
mod jobs;
mod layout;
mod overview;
mod queues;
mod schedules;
pub mod session;
mod state;
mod verifier;
mod webhooks;
mod whatif;
mod workers;

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, Method, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
pub use error::ConsoleError;
pub use state::ConsoleState;
pub use verifier::OperatorVerifier;

/// Every console route.
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .merge(pages())
        .merge(actions())
        .merge(assets::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(same_site_posts))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// The pages (GET), each read without JavaScript, and the live stream.
fn pages() -> Router<ConsoleState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/events", get(overview::events))
        .route("/queues", get(queues::page))
        .route("/jobs", get(jobs::search))
        .route("/jobs/{id}", get(jobs::job))
        .route("/workers", get(workers::page))
        .route("/autoscaler", get(autoscaler::page))
        .route("/schedules", get(schedules::page))
        .route("/webhooks", get(webhooks::page))
        .route("/governance", get(governance::page))
}

/// Sign-in and the forms that change something (each checks the CSRF token but the sign-in).
fn actions() -> Router<ConsoleState> {
    Router::new()
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/queues/{queue}/{verb}", post(queues::toggle))
        .route("/jobs/bulk", post(jobs::bulk))
        .route("/jobs/{id}/{verb}", post(jobs::act))
        .route("/webhooks/{id}/{verb}", post(webhooks::set_status))
}

async fn not_found() -> ConsoleError {
    ConsoleError::NotFound("there is no such page".into())
}

/// Refuses a POST a browser says came from another site (`Sec-Fetch-Site`), before any handler:
/// the CSRF token guards signed-in forms, this also guards the sign-in form itself (login CSRF).
async fn same_site_posts(request: Request, next: Next) -> Response {
    let cross_site = request.method() == Method::POST
        && request
            .headers()
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|site| !matches!(site, "same-origin" | "none"));
    if cross_site {
        return ConsoleError::Forbidden("a form from another site cannot act here".into())
            .into_response();
    }
    next.run(request).await
}

/// No framing, no sniffing, scripts and styles from this origin only, and pages never cached.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::CACHE_CONTROL, "no-store");
    response
}
