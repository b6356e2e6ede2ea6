//! Hostile input on every command route: dates at and beyond what Postgres stores, NUL in every
//! text, huge and negative numbers. Each must answer a 4xx `application/problem+json` naming the
//! field at fault, never a 202 (which the worker would then refuse), a 5xx or a dropped
//! connection, and nothing may reach a queue.

use coin_shared::jobs::ALL_QUEUES;
use coin_tests::{TestApp, TokenRole as Role, batch_refusals, counts, header, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

/// Dates no command may carry: chrono's last year, before Postgres' first day, and past 9999.
const BAD_DATES: &[&str] = &[
    "+262142-12-31T23:59:59Z",
    "+262142-12-31T23:59:59.999999999Z",
    "-262143-01-01T00:00:00Z",
    "-5000-01-01T00:00:00Z",
    "-4713-11-23T23:59:59Z",
    "+10000-01-01T00:00:00Z",
];

/// One hostile request: where, as whom, the body (raw JSON text), and the field it must name.
struct Case {
    path: String,
    role: Role,
    body: String,
    field: String,
}

fn case(path: &str, role: Role, body: Value, field: &str) -> Case {
    Case {
        path: path.to_owned(),
        role,
        body: body.to_string(),
        field: field.to_owned(),
    }
}

/// `base` with `field` set to `value`.
fn with(base: &Value, field: &str, value: Value) -> Value {
    let mut body = base.clone();
    body[field] = value;
    body
}

/// A command route with a JSON body: where, as whom, and a valid body to break.
#[derive(Clone, Copy)]
struct Route<'a> {
    path: &'a str,
    role: Role,
    valid: &'a Value,
}

impl<'a> Route<'a> {
    fn new(path: &'a str, role: Role, valid: &'a Value) -> Self {
        Self { path, role, valid }
    }

    /// The valid body with `field` set to `value`, which must be refused naming `field`.
    fn with(self, field: &str, value: Value) -> Case {
        case(self.path, self.role, with(self.valid, field, value), field)
    }
}

fn cases() -> Vec<Case> {
    let goodwill = json!({
        "action_type": "volunteering",
        "description": "Helped at the community garden",
        "loves_value": 5,
        "contextual_data": {"hours": 2},
    });
    let proposal = json!({"title": "Fix the roof", "description": "It leaks"});
    let member = json!({"user_id": Uuid::now_v7()});
    let vote_path = format!("/v1/proposals/{}/votes", Uuid::now_v7());
    let end_path = format!("/v1/council-members/{}/end", Uuid::now_v7());
    let endpoint = json!({"url": "https://example.org/hook", "event_types": ["vote.cast"]});
    let mut cases = Vec::new();
    let empty = json!({});
    let vote = json!({"choice": "FOR"});
    let goodwill_route = Route::new("/v1/goodwill-actions", Role::Member, &goodwill);
    let proposals = Route::new("/v1/proposals", Role::Council, &proposal);
    let council = Route::new("/v1/council-members", Role::Operator, &member);
    let end = Route::new(&end_path, Role::Operator, &empty);
    let votes = Route::new(&vote_path, Role::Member, &vote);
    let endpoints = Route::new("/v1/webhook-endpoints", Role::Operator, &endpoint);

    // Every date field of every command route.
    let date_fields = [
        (goodwill_route, "occurred_at"),
        (proposals, "vote_start_time"),
        (proposals, "vote_end_time"),
        (council, "start_date"),
        (council, "end_date"),
        (end, "end_date"),
    ];
    for date in BAD_DATES {
        for (route, field) in date_fields {
            cases.push(route.with(field, json!(date)));
        }
    }

    // NUL in every text field.
    let nul = "before\u{0}after";
    for (route, field) in [
        (goodwill_route, "action_type"),
        (goodwill_route, "description"),
        (proposals, "title"),
        (proposals, "description"),
        (votes, "rationale"),
    ] {
        cases.push(route.with(field, json!(nul)));
    }
    for context in [
        json!({ nul: 1 }),
        json!({"k": nul}),
        json!({"k": [{"deep": [nul]}]}),
    ] {
        cases.push(goodwill_route.with("contextual_data", context));
    }
    cases.push(endpoints.with("url", json!(format!("https://example.org/{nul}"))));
    cases.push(endpoints.with("event_types", json!(["vote.cast", nul])));
    cases.push(council.with("role", json!("MEM\u{0}BER")));
    cases.push(case(
        "/v1/delegations",
        Role::Member,
        json!({"delegate_id": format!("{}\u{0}", Uuid::now_v7())}),
        "delegate_id",
    ));
    cases.push(case(
        "/v1/delegations",
        Role::Member,
        json!({"delegate_id": Uuid::now_v7(), "proposal_id": nul}),
        "proposal_id",
    ));

    // Other control characters and a wrong scheme case are refused where Postgres would.
    cases.push(endpoints.with("url", json!("HTTPS://example.org/hook")));
    cases.push(endpoints.with("url", json!("https://example.org/\u{1}\u{7f}")));
    cases.push(proposals.with("title", json!("\u{0}".repeat(300))));

    // Huge and negative numbers.
    for loves in [
        json!(0),
        json!(-1),
        json!(101),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e20),
        json!(-1e300),
        json!(2.5),
    ] {
        cases.push(goodwill_route.with("loves_value", loves));
    }
    for quorum in [
        json!(-1),
        json!(-0.0001),
        json!(1.0001),
        json!(1e308),
        json!(-1e308),
        json!(f64::MAX),
        json!(i64::MAX),
        json!("NaN"),
    ] {
        cases.push(proposals.with("required_quorum", quorum));
    }
    // Numbers beyond f64, NaN and Infinity are not JSON that can be built with `json!`.
    for raw in ["1e400", "-1e400", "NaN", "Infinity"] {
        cases.push(Case {
            path: "/v1/proposals".into(),
            role: Role::Council,
            body: format!(r#"{{"title":"T","description":"D","required_quorum":{raw}}}"#),
            field: if raw.ends_with("e400") {
                "required_quorum".into()
            } else {
                String::new()
            },
        });
    }
    cases.push(Case {
        path: "/v1/goodwill-actions".into(),
        role: Role::Member,
        body: r#"{"action_type":"a","description":"d","loves_value":1e400}"#.into(),
        field: "loves_value".into(),
    });
    // An end not after its start, to the microsecond Postgres keeps.
    cases.push(case(
        "/v1/proposals",
        Role::Council,
        with(
            &with(
                &proposal,
                "vote_start_time",
                json!("2030-01-01T00:00:00.0000001Z"),
            ),
            "vote_end_time",
            json!("2030-01-01T00:00:00.0000009Z"),
        ),
        "vote_end_time",
    ));
    cases.push(case(
        "/v1/council-members",
        Role::Operator,
        with(
            &with(&member, "start_date", json!("2030-01-01T00:00:00Z")),
            "end_date",
            json!("2029-12-31T23:59:59Z"),
        ),
        "end_date",
    ));

    // A whole batch of bad items: 422, each item named.
    let bad_items: Vec<Value> = BAD_DATES
        .iter()
        .map(|d| {
            with(
                &with(&goodwill, "user_id", json!(Uuid::now_v7())),
                "occurred_at",
                json!(d),
            )
        })
        .chain([with(
            &with(&goodwill, "user_id", json!(Uuid::now_v7())),
            "description",
            json!(nul),
        )])
        .collect();
    cases.push(case(
        "/v1/goodwill-actions:batch",
        Role::Service,
        json!({ "actions": bad_items }),
        "actions[0].occurred_at",
    ));
    cases
}

/// Asserts a 4xx problem document naming `field` (any field when empty); returns it.
async fn refused(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<String>,
    field: &str,
) -> Value {
    let mut request = app
        .client
        .request(method.clone(), format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(body) = &body {
        request = request
            .header("content-type", "application/json")
            .body(body.clone());
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path} {body:?}: the connection failed: {e}"));
    let status = response.status().as_u16();
    let content_type = header(&response, "content-type")
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap_or_default();
    let context = format!("{method} {path} {body:?} answered {status}: {text}");
    assert!((400..500).contains(&status), "{context}");
    assert_eq!(content_type, "application/problem+json", "{context}");
    let problem: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{context}"));
    if !field.is_empty() {
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&field),
            "expected `{field}` in {fields:?}: {context}"
        );
    }
    problem
}

async fn assert_queues_empty(app: &TestApp) {
    for queue in ALL_QUEUES {
        let depth = app.queue.depth(queue).await.expect("depth");
        assert_eq!(
            (depth.backlog, depth.scheduled, depth.inflight, depth.dead),
            (0, 0, 0, 0),
            "queue {queue} got a job"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_input_on_every_command_route_is_refused_naming_the_field() {
    let app = spawn_app().await.expect("app");
    let cases = cases();
    for case in &cases {
        let token = app.token(Uuid::now_v7(), case.role);
        refused(
            &app,
            reqwest::Method::POST,
            &case.path,
            &token,
            Some(case.body.clone()),
            &case.field,
        )
        .await;
    }
    // Self-delegation: the caller is its own delegate.
    let me = Uuid::now_v7();
    let token = app.token(me, Role::Member);
    refused(
        &app,
        reqwest::Method::POST,
        "/v1/delegations",
        &token,
        Some(json!({"delegate_id": me}).to_string()),
        "delegate_id",
    )
    .await;
    // The body-less routes: only the id in the path can be hostile.
    let council = app.token(Uuid::now_v7(), Role::Council);
    let member = app.token(Uuid::now_v7(), Role::Member);
    for id in ["not-a-uuid", "%00", "0000-%00", "..%2F..", &"f".repeat(300)] {
        // Each step of a proposal, and the revocation of a delegation.
        let mut bodiless: Vec<(reqwest::Method, String, &String)> = ["open", "close", "reject"]
            .map(|step| {
                (
                    reqwest::Method::POST,
                    format!("/v1/proposals/{id}/{step}"),
                    &council,
                )
            })
            .into();
        bodiless.push((
            reqwest::Method::DELETE,
            format!("/v1/delegations/{id}"),
            &member,
        ));
        for (method, path, token) in bodiless {
            let problem = refused(&app, method, &path, token, None, "").await;
            assert_eq!(problem["status"], 404, "{problem}");
        }
        refused(
            &app,
            reqwest::Method::POST,
            &format!("/v1/proposals/{id}/votes"),
            &member,
            Some(json!({"choice": "FOR"}).to_string()),
            "",
        )
        .await;
    }
    assert_queues_empty(&app).await;
    // The API is still up after all of it.
    assert_eq!(app.get("/livez").await.status().as_u16(), 200);
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_with_one_bad_item_accepts_the_others_and_names_the_bad_one() {
    let app = spawn_app().await.expect("app");
    let service = app.token(Uuid::now_v7(), Role::Service);
    let mut actions: Vec<Value> = (0..10)
        .map(|_| {
            json!({"user_id": Uuid::now_v7(), "action_type": "mentoring",
                   "description": "An hour", "loves_value": 2})
        })
        .collect();
    actions[4]["occurred_at"] = json!("-5000-01-01T00:00:00Z");
    actions[6]["contextual_data"] = json!({"note": "nul\u{0}"});
    let body = app.batch(&service, &actions).await;
    assert_eq!(
        counts(&body, ["accepted", "rejected"]),
        [Some(8), Some(2)],
        "{body}"
    );
    assert_eq!(
        batch_refusals(&body),
        ["actions[4].occurred_at", "actions[6].contextual_data"]
    );
    for (i, result) in body["results"]
        .as_array()
        .expect("results")
        .iter()
        .enumerate()
    {
        assert_eq!(result["job_id"].is_string(), i != 4 && i != 6, "{result}");
    }
    let depth = app.queue.depth("goodwill").await.expect("depth");
    assert_eq!(depth.backlog, 8);
    app.teardown().await.expect("teardown");
}
