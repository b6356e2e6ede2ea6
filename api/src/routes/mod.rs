//! The route table: every route is declared once, as its handler in a `routes!(…)` below.
//! The handler's `#[utoipa::path]` gives its method and path to both the router and the OpenAPI
//! document (utoipa-axum's [`OpenApiRouter`]), so neither can list a route the other lacks.
//! Routes whose operation asks for a bearer token are declared in [`authenticated`], which puts
//! them behind the authentication and rate-limit layers; the rest in [`public`].

mod activity;
pub mod council;
mod dead_jobs;
pub mod delegations;
pub mod goodwill;
mod jobs;
mod openapi;
pub mod proposals;
mod users;
pub(crate) mod wallets;
pub mod webhooks;

use std::sync::Arc;

use axum::{
    Extension, Router, extract::DefaultBodyLimit, http::Uri, middleware, response::IntoResponse,
};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    guard, http_metrics,
    openapi::{ApiDoc, OpsDoc},
    problem::ApiError,
    request_id,
    state::AppState,
};

/// The routes anyone may call.
fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi::document))
        .routes(routes!(proposals::list))
        .routes(routes!(proposals::get))
        .routes(routes!(users::get))
        .routes(routes!(wallets::wallet))
        .routes(routes!(activity::list))
        .routes(routes!(jobs::status))
}

/// The routes that need a bearer token.
fn authenticated() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(goodwill::record))
        .routes(routes!(goodwill::record_batch))
        .routes(routes!(proposals::create))
        .routes(routes!(proposals::open))
        .routes(routes!(proposals::close))
        .routes(routes!(proposals::reject))
        .routes(routes!(proposals::vote))
        .routes(routes!(delegations::create))
        .routes(routes!(delegations::revoke))
        .routes(routes!(council::add))
        .routes(routes!(council::end))
        .routes(routes!(dead_jobs::list))
        .routes(routes!(dead_jobs::replay))
        .routes(routes!(dead_jobs::replay_all))
        .routes(routes!(webhooks::create))
}

/// The OpenAPI document of every route: the operations routes of `coin_shared::ops`, and the
/// declarations above.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(OpsDoc::openapi());
    doc.merge(public().into_openapi());
    doc.merge(authenticated().into_openapi());
    doc
}

/// Every route of the API.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let ops = coin_shared::ops::Ops {
        service: "coin-api",
        pool: state.read_pool.clone(),
        queue: state.queue.clone(),
        metrics: state.metrics.clone(),
        details: None,
    };
    let guarded = authenticated()
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::rate_limit,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::authenticate,
        ));
    let (routes, _) = public()
        .merge(guarded)
        .merge(OpenApiRouter::from(coin_shared::ops::router(ops)))
        .split_for_parts();
    let document = openapi::Document::of(&document());
    layered(
        routes
            .layer(Extension(Arc::new(document)))
            .with_state(state),
        max_body_bytes,
    )
}

/// What every route gets: problem+json fallbacks, the body limit, a caught panic answered as a
/// 500 problem+json, the request metrics (outside it, so they count that 500 too), and outermost
/// the request span and `X-Request-Id`.
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
        .layer(middleware::from_fn(request_id::span))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::{
        body::Body,
        http::{Method, Request},
        routing::get,
    };
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;
    use crate::test_support;

    const METHODS: [Method; 5] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];

    fn operations(doc: &utoipa::openapi::OpenApi) -> BTreeSet<(Method, String)> {
        let doc = serde_json::to_value(doc).expect("the document serializes");
        let mut operations = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in METHODS {
                if item.get(method.as_str().to_ascii_lowercase()).is_some() {
                    operations.insert((method, path.clone()));
                }
            }
        }
        operations
    }

    /// How `router` answers `method` on `path` (`{id}` filled with a non-UUID): `Some(kind)`
    /// of the fallbacks' problems (`no-route`, `method-not-allowed`), `None` when served.
    async fn fallback(router: &Router, method: &Method, path: &str) -> Option<&'static str> {
        let uri = format!("{}?limit=0", path.replace("{id}", "not-a-uuid"));
        let request = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .body(Body::empty())
            .expect("a request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("a body");
        let kind = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_owned))
            .unwrap_or_default();
        match status {
            404 if kind.ends_with("/no-route") => Some("no-route"),
            405 if kind.ends_with("/method-not-allowed") => Some("method-not-allowed"),
            _ => None,
        }
    }

    /// The router and the document come from the same declarations; this checks the glue: every
    /// documented operation is served, every other method on its path answers 405, and the
    /// operations routes of `coin_shared::ops` (declared there) are documented.
    #[tokio::test]
    async fn documented_operations_are_exactly_the_routes_the_router_serves() {
        let router = test_support::router();
        let documented = operations(&document());
        assert!(
            documented.contains(&(Method::POST, "/v1/proposals/{id}/votes".to_owned()))
                && documented.contains(&(Method::GET, "/livez".to_owned()))
                && documented.len() > 20,
            "{documented:?}"
        );
        let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
        for path in paths {
            for method in METHODS {
                let listed = documented.contains(&(method.clone(), path.clone()));
                let answer = fallback(&router, &method, path).await;
                let expected = (!listed).then_some("method-not-allowed");
                assert_eq!(answer, expected, "{method} {path} (documented: {listed})");
            }
        }
    }

    /// A route is behind the authentication and rate-limit layers exactly when its operation
    /// asks for the bearer token.
    #[test]
    fn authenticated_routes_are_exactly_those_documented_with_a_bearer_token() {
        for (routes, secured) in [(public(), false), (authenticated(), true)] {
            let doc = serde_json::to_value(routes.into_openapi()).expect("serializes");
            for (path, item) in doc["paths"].as_object().expect("paths") {
                for (method, op) in item.as_object().expect("an item") {
                    let bearer = op["security"]
                        .as_array()
                        .is_some_and(|s| s.iter().any(|r| r.get(crate::openapi::BEARER).is_some()));
                    assert_eq!(bearer, secured, "{method} {path}");
                }
            }
        }
    }

    #[tokio::test]
    async fn an_authenticated_route_answers_401_before_reading_its_body() {
        let response = test_support::router()
            .oneshot(
                Request::post("/v1/proposals")
                    .body(Body::from("not json"))
                    .expect("request"),
            )
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }

    fn schema(doc: &Value, name: &str, property: &str) -> Value {
        doc["components"]["schemas"][name]["properties"][property].clone()
    }

    #[test]
    fn documented_bounds_follow_the_code() {
        use coin_shared::domain::{
            ACTION_TYPE_MAX_CHARS, DESCRIPTION_MAX_CHARS, LOVES_VALUE_RANGE,
            PROPOSAL_DESCRIPTION_MAX_CHARS, RATIONALE_MAX_CHARS, TITLE_MAX_CHARS,
        };

        use crate::{idempotency::MAX_KEY_LEN, routes::goodwill::MAX_BATCH};

        let doc = serde_json::to_value(document()).expect("the document serializes");
        let goodwill = |p: &str| schema(&doc, "GoodwillRequest", p);
        assert_eq!(goodwill("action_type")["maxLength"], ACTION_TYPE_MAX_CHARS);
        assert_eq!(goodwill("description")["maxLength"], DESCRIPTION_MAX_CHARS);
        assert_eq!(
            goodwill("loves_value")["minimum"],
            *LOVES_VALUE_RANGE.start()
        );
        assert_eq!(goodwill("loves_value")["maximum"], *LOVES_VALUE_RANGE.end());
        assert_eq!(
            schema(&doc, "BatchRequest", "actions")["maxItems"],
            MAX_BATCH
        );
        let proposal = |p: &str| schema(&doc, "CreateProposal", p);
        assert_eq!(proposal("title")["maxLength"], TITLE_MAX_CHARS);
        assert_eq!(
            proposal("description")["maxLength"],
            PROPOSAL_DESCRIPTION_MAX_CHARS
        );
        assert_eq!(
            schema(&doc, "VoteRequest", "rationale")["maxLength"],
            RATIONALE_MAX_CHARS
        );
        let key = doc["paths"]["/v1/delegations"]["post"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "Idempotency-Key"))
            .expect("the Idempotency-Key parameter")
            .clone();
        assert_eq!(key["in"], "header");
        assert_eq!(key["schema"]["maxLength"], MAX_KEY_LEN);
    }

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
