//! `GET /openapi.json`: an OpenAPI 3.1 document that covers every route of `coin-api`, every
//! request and answer body, and every error (as RFC 7807 problem+json), checked against the
//! running API.

use std::collections::BTreeSet;

use coin_tests::{TestApp, TokenRole as Role, goodwill_body, header, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

/// Every route of `api/src/routes/mod.rs`: method, path, and whether it needs a bearer token.
/// `served_routes_are_exactly_these` keeps it honest against the running API.
const ROUTES: &[(&str, &str, bool)] = &[
    ("GET", "/livez", false),
    ("GET", "/health", false),
    ("GET", "/metrics", false),
    ("GET", "/openapi.json", false),
    ("POST", "/v1/goodwill-actions", true),
    ("POST", "/v1/goodwill-actions:batch", true),
    ("POST", "/v1/proposals", true),
    ("GET", "/v1/proposals", false),
    ("GET", "/v1/proposals/{id}", false),
    ("POST", "/v1/proposals/{id}/open", true),
    ("POST", "/v1/proposals/{id}/close", true),
    ("POST", "/v1/proposals/{id}/reject", true),
    ("POST", "/v1/proposals/{id}/votes", true),
    ("POST", "/v1/delegations", true),
    ("DELETE", "/v1/delegations/{id}", true),
    ("POST", "/v1/council-members", true),
    ("POST", "/v1/council-members/{id}/end", true),
    ("GET", "/v1/users/{id}", false),
    ("GET", "/v1/users/{id}/wallet", false),
    ("GET", "/v1/activity", false),
    ("GET", "/v1/jobs/{id}", false),
    ("GET", "/v1/jobs", true),
    ("POST", "/v1/jobs/{id}/cancel", true),
    ("POST", "/v1/jobs/bulk", true),
    ("GET", "/v1/queues", true),
    ("POST", "/v1/queues/{queue}/pause", true),
    ("POST", "/v1/queues/{queue}/resume", true),
    ("GET", "/v1/dead-jobs", true),
    ("POST", "/v1/dead-jobs/{id}/replay", true),
    ("POST", "/v1/dead-jobs:replay-all", true),
    ("POST", "/v1/webhook-endpoints", true),
    ("POST", "/v1/webhook-endpoints/{id}/disable", true),
    ("POST", "/v1/webhook-endpoints/{id}/enable", true),
];

/// The commands that answer `202 {job_id, <entity>_id, status_url}`, with their entity field.
const COMMANDS: &[(&str, &str, &str)] = &[
    ("POST", "/v1/goodwill-actions", "action_id"),
    ("POST", "/v1/proposals", "proposal_id"),
    ("POST", "/v1/proposals/{id}/open", "command_id"),
    ("POST", "/v1/proposals/{id}/close", "command_id"),
    ("POST", "/v1/proposals/{id}/reject", "command_id"),
    ("POST", "/v1/proposals/{id}/votes", "vote_id"),
    ("POST", "/v1/delegations", "delegation_id"),
    ("DELETE", "/v1/delegations/{id}", "command_id"),
    ("POST", "/v1/council-members", "member_id"),
    ("POST", "/v1/council-members/{id}/end", "command_id"),
    ("POST", "/v1/webhook-endpoints", "endpoint_id"),
    ("POST", "/v1/webhook-endpoints/{id}/disable", "command_id"),
    ("POST", "/v1/webhook-endpoints/{id}/enable", "command_id"),
];

/// Routes that read `Idempotency-Key`: the commands above and the batch.
fn idempotent_routes() -> impl Iterator<Item = (&'static str, &'static str)> {
    COMMANDS
        .iter()
        .map(|(method, path, _)| (*method, *path))
        .chain([("POST", "/v1/goodwill-actions:batch")])
}

const OPERATIONS_ROUTES: &[&str] = &["/livez", "/health", "/metrics", "/openapi.json"];

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(&response, "content-type"),
        Some("application/json"),
        "no token is needed and the document is JSON"
    );
    response.json().await.expect("a JSON document")
}

fn operation<'d>(doc: &'d Value, method: &str, path: &str) -> &'d Value {
    let op = &doc["paths"][path][method.to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method.to_ascii_lowercase()).is_some() {
                found.insert((method.to_string(), path.clone()));
            }
        }
    }
    found
}

/// Resolves a local `$ref` (`#/components/...`), following chains of them.
fn resolve<'d>(doc: &'d Value, mut value: &'d Value) -> &'d Value {
    while let Some(target) = value.get("$ref").and_then(Value::as_str) {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{target} is not a local reference"));
        value = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{target} does not resolve"));
    }
    value
}

/// The `{name}`s of a path template.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

fn concrete(path: &str) -> String {
    path.replace("{id}", &Uuid::now_v7().to_string())
        .replace("{queue}", "goodwill")
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_documents_exactly_the_served_routes() {
    let app = spawn_app().await.expect("app");
    let doc = document(&app).await;

    let version = doc["openapi"].as_str().expect("an `openapi` version");
    assert!(version.starts_with("3.1"), "openapi: {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let found = documented(&doc);
    assert_eq!(
        found, expected,
        "documented operations differ from the route table"
    );

    let ids: Vec<&str> = found
        .iter()
        .map(|(m, p)| {
            operation(&doc, m, p)["operationId"]
                .as_str()
                .expect("an operationId")
        })
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "operationIds are unique: {ids:?}");

    app.teardown().await.expect("teardown");
}

/// The route table above is the router's: each (method, path) is served (not the 404/405
/// fallbacks), and every other method on those paths answers 405.
#[tokio::test]
async fn served_routes_are_exactly_these() {
    let app = spawn_app().await.expect("app");
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(_, p, _)| *p).collect();
    for path in paths {
        let url = format!("{}{}", app.address, concrete(path));
        for method in METHODS {
            let response = app
                .client
                .request(method.parse().expect("a method"), &url)
                .send()
                .await
                .expect("the API answers");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let kind = body["type"].as_str().unwrap_or_default();
            assert!(
                !kind.ends_with("/no-route"),
                "{method} {path}: no route ({status})"
            );
            let listed = ROUTES.iter().any(|(m, p, _)| m == method && *p == path);
            let refused = status == 405 && kind.ends_with("/method-not-allowed");
            assert_eq!(
                !refused, listed,
                "{method} {path} answered {status} {body}; listed in ROUTES: {listed}"
            );
        }
    }
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn every_operation_lists_its_errors_as_problem_json() {
    let app = spawn_app().await.expect("app");
    let doc = document(&app).await;
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail"] {
        assert!(
            problem["required"]
                .as_array()
                .is_some_and(|r| r.contains(&json!(field))),
            "Problem requires `{field}`"
        );
    }
    assert!(problem["properties"]["errors"].is_object());
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");

    for (method, path, needs_token) in ROUTES {
        let op = operation(&doc, method, path);
        let responses = op["responses"].as_object().expect("responses");
        let has = |code: &str| responses.contains_key(code);
        let what = format!("{method} {path}");
        assert!(
            responses.keys().any(|c| c.starts_with('2')),
            "{what}: no success response"
        );
        for (code, response) in responses {
            let response = resolve(&doc, response);
            assert!(
                response["description"].is_string(),
                "{what} {code}: no description"
            );
            if code.as_str() >= "400" && *path != "/health" {
                let schema = &response["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Problem",
                    "{what} {code} is not a problem+json Problem"
                );
            }
        }
        if OPERATIONS_ROUTES.contains(path) {
            continue;
        }
        for code in ["500", "503"] {
            assert!(has(code), "{what}: no {code}");
        }
        let security = op["security"].as_array();
        if *needs_token {
            assert!(
                security.is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some())),
                "{what}: needs a bearer token"
            );
            for code in ["401", "403", "429"] {
                // The batch reports a member posting for another user per item, not as 403.
                if code == "403" && *path == "/v1/goodwill-actions:batch" {
                    continue;
                }
                assert!(has(code), "{what}: no {code}");
            }
            let unauthorized = resolve(&doc, &responses["401"]);
            assert!(unauthorized["headers"]["WWW-Authenticate"].is_object());
            let limited = resolve(&doc, &responses["429"]);
            assert!(
                limited["headers"]["Retry-After"].is_object(),
                "{what}: 429 without Retry-After"
            );
        } else {
            assert!(security.is_none(), "{what}: public, yet asks for a token");
        }
        if let Some(body) = op.get("requestBody") {
            assert!(
                body["content"]["application/json"]["schema"].is_object(),
                "{what}: the request body has no JSON schema"
            );
            for code in ["400", "413", "415", "422"] {
                assert!(has(code), "{what}: has a body, yet no {code}");
            }
        }
        for name in path_parameters(path) {
            assert!(has("404"), "{what}: takes `{name}`, yet no 404");
            let params = op["parameters"].as_array().expect("parameters");
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                "{what}: the `{name}` path parameter is not declared"
            );
        }
        if op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"))
        {
            for code in ["400", "422"] {
                assert!(has(code), "{what}: validates its query, yet no {code}");
            }
        }
    }
    let no_route = resolve(&doc, &doc["components"]["responses"]["NoRoute"]);
    let not_allowed = resolve(&doc, &doc["components"]["responses"]["MethodNotAllowed"]);
    for response in [no_route, not_allowed] {
        assert!(response["content"]["application/problem+json"].is_object());
    }
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn commands_document_their_202_answer_and_the_idempotency_key() {
    let app = spawn_app().await.expect("app");
    let doc = document(&app).await;
    for (method, path, entity) in COMMANDS {
        let op = operation(&doc, method, path);
        let schema = resolve(
            &doc,
            &op["responses"]["202"]["content"]["application/json"]["schema"],
        );
        let required = schema["required"].as_array().expect("required fields");
        for field in ["job_id", entity, "status_url"] {
            assert!(
                required.contains(&json!(field)),
                "{method} {path}: the 202 answer does not require `{field}`: {schema}"
            );
            assert!(schema["properties"][field].is_object());
        }
        assert!(
            op["responses"]["409"].is_object() && op["responses"]["422"].is_object(),
            "{method} {path}: the Idempotency-Key's 409 and 422"
        );
    }
    for (method, path) in idempotent_routes() {
        let op = operation(&doc, method, path);
        let key = op["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "Idempotency-Key"))
            .unwrap_or_else(|| panic!("{method} {path}: no Idempotency-Key parameter"));
        assert_eq!(key["in"], "header");
        assert_ne!(key["required"], true);
    }
    let batch = resolve(
        &doc,
        &operation(&doc, "POST", "/v1/goodwill-actions:batch")["responses"]["202"]["content"]["application/json"]
            ["schema"],
    );
    for field in ["accepted", "rejected", "results"] {
        assert!(batch["properties"][field].is_object(), "batch `{field}`");
    }
    app.teardown().await.expect("teardown");
}

/// What the API really answers fits what the document says it answers.
#[tokio::test]
async fn live_answers_match_their_documented_schemas() {
    let app = spawn_app().await.expect("app");
    let doc = document(&app).await;
    let member = Uuid::now_v7();
    let member_token = app.token(member, Role::Member);
    let council_token = app.token(Uuid::now_v7(), Role::Council);
    let proposal = Uuid::now_v7();
    let cases = [
        (
            "POST",
            "/v1/goodwill-actions",
            "/v1/goodwill-actions".to_owned(),
            &member_token,
            goodwill_body(5),
        ),
        (
            "POST",
            "/v1/delegations",
            "/v1/delegations".to_owned(),
            &member_token,
            json!({"delegate_id": Uuid::now_v7()}),
        ),
        (
            "POST",
            "/v1/proposals/{id}/open",
            format!("/v1/proposals/{proposal}/open"),
            &council_token,
            json!({}),
        ),
        (
            "POST",
            "/v1/goodwill-actions",
            "/v1/goodwill-actions".to_owned(),
            &member_token,
            goodwill_body(1_000),
        ),
    ];
    for (method, template, path, token, body) in cases {
        let response = app.post_json(&path, Some(token), &body).await;
        let status = response.status().as_u16().to_string();
        let content_type = header(&response, "content-type")
            .unwrap_or_default()
            .to_owned();
        let answer: Value = response.json().await.expect("a JSON answer");
        let documented = resolve(
            &doc,
            &operation(&doc, method, template)["responses"][status.as_str()],
        );
        let schema = resolve(
            &doc,
            &documented["content"][content_type.as_str()]["schema"],
        );
        assert!(
            schema.is_object(),
            "{method} {path} answered {status} as {content_type}, which is not documented"
        );
        let properties = schema["properties"].as_object().expect("properties");
        for key in answer.as_object().expect("an object").keys() {
            assert!(
                properties.contains_key(key),
                "{method} {path} {status}: `{key}` is not documented"
            );
        }
        for field in schema["required"].as_array().into_iter().flatten() {
            let field = field.as_str().expect("a field name");
            assert!(
                answer.get(field).is_some(),
                "{method} {path} {status}: `{field}` is missing from {answer}"
            );
        }
    }
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn every_reference_resolves() {
    fn walk(doc: &Value, value: &Value, at: &str, refs: &mut usize) {
        match value {
            Value::Object(map) => {
                if let Some(target) = map.get("$ref") {
                    let target = target.as_str().expect("a $ref is a string");
                    let pointer = target
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("{at}: {target} is not local"));
                    assert!(
                        doc.pointer(pointer).is_some(),
                        "{at}: {target} does not resolve"
                    );
                    *refs += 1;
                }
                for (key, child) in map {
                    walk(doc, child, &format!("{at}/{key}"), refs);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(doc, child, &format!("{at}/{i}"), refs);
                }
            }
            _ => {}
        }
    }
    let app = spawn_app().await.expect("app");
    let doc = document(&app).await;
    let mut refs = 0;
    walk(&doc, &doc, "#", &mut refs);
    assert!(refs > 100, "only {refs} references: schemas are not shared");
    for name in [
        "Problem",
        "FieldError",
        "JobStatus",
        "Tally",
        "ProposalView",
        "GoodwillRequest",
        "Choice",
    ] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "no `{name}` schema"
        );
    }
    app.teardown().await.expect("teardown");
}
