//! `GET /openapi.json`: the OpenAPI 3.1 document of this API, generated from the handlers'
//! `#[utoipa::path]` annotations and the body types' `ToSchema` derives (see `crate::openapi`
//! for the shared error responses and answer bodies). Public: no token needed.
//!
//! A route added to `routes::router` without a `#[utoipa::path]` listed in [`ApiDoc`] fails
//! `documented_operations_are_exactly_the_routes_the_router_serves` below.

use std::sync::LazyLock;

use axum::Json;
use coin_shared::domain::FieldError;
use utoipa::OpenApi;

use crate::{
    openapi::{
        BadRequest, BearerSecurity, Conflict, Forbidden, InternalError, MethodNotAllowed, NoRoute,
        NotFound, PayloadTooLarge, ServiceUnavailable, TooManyRequests, Unauthorized,
        UnprocessableEntity, UnsupportedMediaType,
    },
    problem::Problem,
};

const DESCRIPTION: &str = "\
People's Coin: goodwill actions, wallets and liquid-democracy governance.

Every command (a `POST` or `DELETE` that changes state) is validated, authorized and enqueued as \
a job; it answers `202 Accepted` with `{job_id, <entity>_id, status_url}` and the job is applied \
by a worker. Poll `status_url` (`GET /v1/jobs/{id}`) for the outcome: a command that breaks a \
rule only the database can judge (an illegal proposal transition, a vote outside its window, a \
delegation cycle) fails its job permanently, with the reason in `last_error`.

Commands take an optional `Idempotency-Key` header. Reads of public data need no token; \
everything else needs a bearer JWT, and is rate-limited per token (`429` with `Retry-After`).

Every error is an RFC 7807 `application/problem+json` document (schema `Problem`), including \
those of no operation: an unknown path answers `404` (component response `NoRoute`) and a \
method a path does not list answers `405` (component response `MethodNotAllowed`).";

/// The OpenAPI document: every route of `routes::router`.
#[derive(OpenApi)]
#[openapi(
    info(title = "People's Coin API", description = DESCRIPTION),
    paths(
        coin_shared::ops::livez,
        coin_shared::ops::health,
        coin_shared::ops::metrics,
        document,
        super::goodwill::record,
        super::goodwill::record_batch,
        super::proposals::create,
        super::proposals::list,
        super::proposals::get,
        super::proposals::open,
        super::proposals::close,
        super::proposals::reject,
        super::proposals::vote,
        super::delegations::create,
        super::delegations::revoke,
        super::council::add,
        super::council::end,
        super::users::get,
        super::wallets::wallet,
        super::activity::list,
        super::jobs::status,
        super::dead_jobs::list,
        super::dead_jobs::replay,
        super::dead_jobs::replay_all,
        super::webhooks::create,
    ),
    components(
        schemas(Problem, FieldError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            NoRoute,
            MethodNotAllowed,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            UnprocessableEntity,
            TooManyRequests,
            ServiceUnavailable,
            InternalError,
        ),
    ),
    modifiers(&BearerSecurity),
    tags(
        (name = "goodwill", description = "Goodwill actions: the points members earn."),
        (name = "proposals", description = "Proposals, their lifecycle, votes and tallies."),
        (name = "delegations", description = "Transitive delegation of voting weight."),
        (name = "council", description = "Council membership (operators)."),
        (name = "users", description = "Public reads about users and wallets."),
        (name = "activity", description = "The public feed of state changes."),
        (name = "jobs", description = "Where an enqueued command stands."),
        (name = "dead jobs", description = "Jobs that failed for good (operators)."),
        (name = "webhooks", description = "Outbound webhook endpoints (operators)."),
        (name = "operations", description = "Health, metrics and this document."),
    )
)]
pub struct ApiDoc;

static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// This document, as JSON.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API.",
            body = serde_json::Value, content_type = "application/json"),
    )
)]
pub async fn document() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(&DOCUMENT)
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, sync::Arc, time::Duration};

    use axum::{
        Router,
        body::Body,
        http::{Method, Request},
    };
    use coin_shared::{config::RedisSettings, queue::JobQueue};
    use secrecy::SecretString;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;
    use crate::{
        auth::TokenVerifier,
        idempotency::IdempotencyStore,
        rate_limit::RateLimiter,
        state::{AppState, Services},
    };

    const METHODS: [Method; 5] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];

    /// The real router, on dependencies that are never reached (nothing listens on port 1):
    /// every probe below is answered before a handler would touch Postgres or Redis, except
    /// `/health`, which times out on them quickly.
    fn router() -> Router {
        let read_pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(200))
            .connect_lazy("postgres://nobody@127.0.0.1:1/nothing")
            .expect("a lazy pool");
        let redis = RedisSettings {
            redis_url: SecretString::from("redis://127.0.0.1:1".to_owned()),
            queue_namespace: "openapi-test".into(),
            redis_response_timeout_ms: 200,
            redis_connect_timeout_ms: 200,
        };
        let queue = JobQueue::new(&redis).expect("a lazy queue");
        let secret = SecretString::from("openapi-test-secret-0123456789".to_owned());
        let state = AppState::new(Services {
            read_pool,
            idempotency: IdempotencyStore::new(queue.connection(), "t".into(), 60),
            rate_limiter: RateLimiter::new(queue.connection(), "t".into(), 0),
            queue,
            verifier: Arc::new(TokenVerifier::new(&secret).expect("a verifier")),
            metrics: metrics_exporter_prometheus::PrometheusBuilder::new()
                .build_recorder()
                .handle(),
        });
        super::super::router(state, 1024)
    }

    /// The paths registered in `router` (axum has no public route listing; its `Debug` output
    /// names them in `node: Node { paths: {RouteId(0): "/health", ...} }`).
    fn router_paths(router: &Router) -> BTreeSet<String> {
        let debug = format!("{router:?}");
        let own = debug
            .split("fallback_router:")
            .next()
            .expect("split yields at least one part");
        let start = own
            .find("node: Node { paths: {")
            .expect("axum's Router Debug output lists the route paths");
        let mut paths = BTreeSet::new();
        let mut chars = own[start + "node: Node { paths: {".len()..].chars();
        let mut current: Option<String> = None;
        for c in chars.by_ref() {
            match (&mut current, c) {
                (None, '}') => break,
                (None, '"') => current = Some(String::new()),
                (Some(path), '"') => {
                    paths.insert(std::mem::take(path));
                    current = None;
                }
                (Some(path), c) => path.push(c),
                (None, _) => {}
            }
        }
        paths
    }

    /// Whether `router` serves `method` on `path`: anything but the fallbacks' `no-route` and
    /// `method-not-allowed` problems counts.
    async fn serves(router: &Router, method: &Method, path: &str) -> bool {
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
        assert!(
            !(status == 404 && kind.ends_with("/no-route")),
            "{method} {uri}: the router lists this path but does not route it"
        );
        !(status == 405 && kind.ends_with("/method-not-allowed"))
    }

    fn documented_operations() -> BTreeSet<(String, String)> {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
        let mut operations = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in METHODS {
                if item.get(method.as_str().to_ascii_lowercase()).is_some() {
                    operations.insert((method.to_string(), path.clone()));
                }
            }
        }
        operations
    }

    #[tokio::test]
    async fn documented_operations_are_exactly_the_routes_the_router_serves() {
        let router = router();
        let paths = router_paths(&router);
        assert!(
            paths.contains("/v1/proposals/{id}/votes") && paths.len() > 20,
            "the route paths could not be read from the router: {paths:?}"
        );
        let mut served = BTreeSet::new();
        for path in &paths {
            for method in METHODS {
                if serves(&router, &method, path).await {
                    served.insert((method.to_string(), path.clone()));
                }
            }
        }
        let documented = documented_operations();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty() && unserved.is_empty(),
            "served but not in the OpenAPI document (add #[utoipa::path] and list the handler \
             in ApiDoc): {undocumented:?}; documented but not served: {unserved:?}"
        );
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

        let doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
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
}
