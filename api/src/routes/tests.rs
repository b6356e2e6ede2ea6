//! Tests of the whole router: the route table against the document, the layers in front of
//! authenticated routes, the request span and `X-Request-Id`, a panic's answer.

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

/// Every `$ref` below `value`, as `(components section, name)`.
fn references(value: &Value, found: &mut BTreeSet<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref")
                && let Some(rest) = target.strip_prefix("#/components/")
                && let Some((section, name)) = rest.split_once('/')
            {
                found.insert((section.to_owned(), name.to_owned()));
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_of_the_document_names_a_component_it_declares() {
    let doc = serde_json::to_value(document()).expect("the document serializes");
    let mut found = BTreeSet::new();
    references(&doc, &mut found);
    assert!(
        found.contains(&("responses".to_owned(), "TooManyRequests".to_owned())),
        "the response sets refer to the problem responses: {found:?}"
    );
    let dangling: Vec<_> = found
        .iter()
        .filter(|(section, name)| doc["components"][section.as_str()][name.as_str()].is_null())
        .collect();
    assert!(
        dangling.is_empty(),
        "references to undeclared components: {dangling:?}"
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
        test_support::body_limits(),
        Arc::new(openapi::Document::of(&utoipa::openapi::OpenApi::default())),
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

/// `X-Request-Id` and the request span (`crate::request_id`), through the real router.
mod request_span {
    use std::{
        io::Write,
        sync::{Arc, Mutex},
    };

    use axum::{body::Body, http::Request, response::Response};
    use chrono::Duration;
    use secrecy::SecretString;
    use tower::ServiceExt;
    use uuid::Uuid;

    use crate::request_id::MAX_LEN;
    use crate::{
        auth::{Role, TokenIssuer},
        test_support,
    };

    async fn send(request: Request<Body>) -> Response {
        test_support::router()
            .oneshot(request)
            .await
            .expect("an answer")
    }

    fn echoed(response: &Response) -> &str {
        response.headers()["x-request-id"]
            .to_str()
            .expect("visible ASCII")
    }

    #[tokio::test]
    async fn a_sane_client_id_is_echoed_even_on_a_404() {
        let request = Request::get("/no/such/route")
            .header("x-request-id", "client-id_42.a:b")
            .body(Body::empty())
            .expect("request");
        let response = send(request).await;
        assert_eq!(response.status().as_u16(), 404);
        assert_eq!(echoed(&response), "client-id_42.a:b");
    }

    #[tokio::test]
    async fn a_missing_or_unusable_id_is_replaced_by_a_fresh_uuid() {
        let long = "x".repeat(MAX_LEN + 1);
        for sent in [None, Some(""), Some("has space"), Some(long.as_str())] {
            let mut request = Request::post("/v1/proposals");
            if let Some(value) = sent {
                request = request.header("x-request-id", value);
            }
            let response = send(request.body(Body::empty()).expect("request")).await;
            assert_eq!(response.status().as_u16(), 401, "an error answer too");
            let id = echoed(&response);
            assert!(id.parse::<Uuid>().is_ok(), "{sent:?} gave {id}");
        }
        let exactly = "y".repeat(MAX_LEN);
        let request = Request::get("/livez")
            .header("x-request-id", exactly.as_str())
            .body(Body::empty())
            .expect("request");
        assert_eq!(echoed(&send(request).await), exactly);
    }

    /// Collects what a fmt subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_log_line_of_a_failing_request_names_its_request_id_route_and_role() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        // Global, not scoped: a scoped subscriber races with the other tests' threads over the
        // callsites' cached interest. Only this test installs one.
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");

        // Postgres is unreachable: a 503, logged as a warning.
        let request = Request::get(format!("/v1/users/{}", Uuid::now_v7()))
            .header("x-request-id", "read-req-1")
            .body(Body::empty())
            .expect("request");
        assert_eq!(send(request).await.status().as_u16(), 503);
        // Redis is unreachable: the command's push fails, logged as a warning.
        let token = TokenIssuer::new(&SecretString::from(test_support::SECRET.to_owned()))
            .expect("verifier")
            .issue(Uuid::now_v7(), Role::Member, Duration::hours(1))
            .expect("token");
        let request = Request::post("/v1/goodwill-actions")
            .header("x-request-id", "command-req-2")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"action_type":"help","description":"a neighbour","loves_value":5}"#,
            ))
            .expect("request");
        assert_eq!(send(request).await.status().as_u16(), 503);

        let logs = String::from_utf8(captured.0.lock().expect("not poisoned").clone())
            .expect("UTF-8 logs");
        let line = |needle: &str| {
            logs.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no log line with {needle}:\n{logs}"))
                .to_owned()
        };
        let read = line("request_id=read-req-1");
        assert!(read.contains("database unavailable"), "{read}");
        assert!(read.contains("route=/v1/users/{id}"), "{read}");
        let command = line("request_id=command-req-2");
        assert!(command.contains("job queue unavailable"), "{command}");
        assert!(command.contains("role=member"), "{command}");
        assert!(command.contains("method=POST"), "{command}");
    }
}
