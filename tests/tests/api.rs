//! The HTTP contract of `coin-api`: auth, validation, problem+json, 202 answers, reads.

use coin_shared::jobs::{Job, RecordGoodwill};
use coin_tests::{
    TokenRole as Role, error_fields, goodwill_body, header, spawn_app, spawn_app_with,
};
use serde_json::{Value, json};
use uuid::Uuid;

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        header(&response, "content-type"),
        Some("application/problem+json")
    );
    let body: Value = response.json().await.expect("problem body");
    assert_eq!(body["status"], status);
    body
}

#[tokio::test]
async fn a_valid_action_answers_202_with_ids_and_enqueues_a_job_without_writing_postgres() {
    let app = spawn_app().await.expect("app");
    let user = Uuid::now_v7();
    let token = app.token(user, Role::Member);

    let response = app
        .post_json("/v1/goodwill-actions", Some(&token), &goodwill_body(10))
        .await;

    assert_eq!(response.status().as_u16(), 202);
    let location = response.headers().get("location").cloned();
    let body: Value = response.json().await.expect("json");
    let job_id = body["job_id"].as_str().expect("job_id");
    assert!(Uuid::parse_str(job_id).is_ok());
    assert!(Uuid::parse_str(body["action_id"].as_str().expect("action_id")).is_ok());
    assert_eq!(body["status_url"], format!("/v1/jobs/{job_id}"));
    assert_eq!(
        location.and_then(|l| l.to_str().ok().map(str::to_owned)),
        Some(format!("/v1/jobs/{job_id}"))
    );
    let depth = app.queue.depth(RecordGoodwill::QUEUE).await.expect("depth");
    assert_eq!(depth.backlog, 1);
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM goodwill_actions) + (SELECT count(*) FROM users)",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("count");
    assert_eq!(rows, 0, "the API must not write to Postgres");

    let status = app.get_json(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(status["state"], "queued");
    assert_eq!(status["queue"], "goodwill");
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn a_missing_or_invalid_token_answers_401_problem_json() {
    let app = spawn_app().await.expect("app");
    let missing = app
        .post_json("/v1/goodwill-actions", None, &goodwill_body(5))
        .await;
    assert_eq!(header(&missing, "www-authenticate"), Some("Bearer"));
    problem(missing, 401).await;

    let forged = coin_api::auth::TokenIssuer::new(&secrecy::SecretString::from(
        "another-secret-entirely".to_owned(),
    ))
    .expect("verifier")
    .issue(Uuid::now_v7(), Role::Member, chrono::Duration::hours(1))
    .expect("token");
    for bad in ["garbage", forged.as_str()] {
        let response = app
            .post_json("/v1/goodwill-actions", Some(bad), &goodwill_body(5))
            .await;
        problem(response, 401).await;
    }
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn tokens_of_a_real_issuer_are_accepted_by_its_key_set_and_its_rules_hold() {
    use coin_tests::jwks::{self, KeyFile};
    let keys = KeyFile::new(&[jwks::key("rsa-1"), jwks::key("ed-1")]);
    let app = spawn_app_with(|s| {
        s.identity.jwt_jwks_path = Some(keys.0.clone());
        s.identity.jwt_issuer = Some(jwks::ISSUER.into());
        s.identity.jwt_audience = Some(jwks::AUDIENCE.into());
    })
    .await
    .expect("app");
    let member = Uuid::now_v7();
    for key in [jwks::key("rsa-1"), jwks::key("ed-1")] {
        let token = jwks::sign(&key, &jwks::claims(json!({ "sub": member })));
        let accepted = app
            .post_json("/v1/goodwill-actions", Some(&token), &goodwill_body(5))
            .await;
        assert_eq!(accepted.status(), 202, "{:?}", key.alg);
    }
    let year_2500 = jwks::claims(json!({ "exp": 16_725_225_600_i64 }));
    let refused = [
        jwks::sign(
            &jwks::key("rsa-1"),
            &jwks::claims(json!({ "aud": "another-app" })),
        ),
        jwks::sign(&jwks::key("rsa-1"), &year_2500),
    ];
    for token in refused {
        let response = app
            .post_json("/v1/goodwill-actions", Some(&token), &goodwill_body(5))
            .await;
        problem(response, 401).await;
    }
    // The key rotates: the API reads the set again for the new key id, without a restart.
    keys.write(&[jwks::key("rsa-2")]);
    let rotated = jwks::sign(&jwks::key("rsa-2"), &jwks::claims(json!({})));
    let response = app
        .post_json("/v1/goodwill-actions", Some(&rotated), &goodwill_body(5))
        .await;
    assert_eq!(response.status(), 202);
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn rule_breaking_input_answers_422_naming_every_field_at_fault() {
    let app = spawn_app().await.expect("app");
    let token = app.token(Uuid::now_v7(), Role::Member);
    let future = (chrono::Utc::now() + chrono::Duration::seconds(3_600)).to_rfc3339();
    let body = json!({
        "action_type": "",
        "description": "ok",
        "loves_value": 101,
        "occurred_at": future,
    });

    let response = app
        .post_json("/v1/goodwill-actions", Some(&token), &body)
        .await;

    let body = problem(response, 422).await;
    assert_eq!(
        error_fields(&body),
        ["action_type", "loves_value", "occurred_at"]
    );
    assert_eq!(app.queue.depth("goodwill").await.expect("depth").backlog, 0);
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn malformed_bodies_answer_400_or_415_naming_the_field_when_known() {
    let app = spawn_app().await.expect("app");
    let token = app.token(Uuid::now_v7(), Role::Member);

    let wrong_type = app
        .post_json(
            "/v1/goodwill-actions",
            Some(&token),
            &json!({"action_type": "x", "description": "y", "loves_value": "ten"}),
        )
        .await;
    let body = problem(wrong_type, 400).await;
    assert_eq!(body["errors"][0]["field"], "loves_value");

    let not_an_object = app
        .post_json(
            "/v1/goodwill-actions",
            Some(&token),
            &json!({"action_type": "x", "description": "y", "loves_value": 3, "contextual_data": [1]}),
        )
        .await;
    let body = problem(not_an_object, 400).await;
    assert_eq!(body["errors"][0]["field"], "contextual_data");

    let unknown_field = app
        .post_json(
            "/v1/goodwill-actions",
            Some(&token),
            &json!({"action_type": "x", "description": "y", "loves_value": 3, "points": 3}),
        )
        .await;
    problem(unknown_field, 400).await;

    let broken = app
        .client
        .post(format!("{}/v1/goodwill-actions", app.address))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("response");
    problem(broken, 400).await;

    let text = app
        .client
        .post(format!("{}/v1/goodwill-actions", app.address))
        .bearer_auth(&token)
        .body("loves_value=3")
        .send()
        .await
        .expect("response");
    problem(text, 415).await;

    let huge = app
        .post_json(
            "/v1/goodwill-actions",
            Some(&token),
            &json!({"action_type": "x", "description": "y".repeat(100_000), "loves_value": 3}),
        )
        .await;
    problem(huge, 413).await;
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn a_member_may_act_only_as_itself_and_a_service_must_name_the_user() {
    let app = spawn_app().await.expect("app");
    let member = Uuid::now_v7();
    let member_token = app.token(member, Role::Member);
    let mut for_other = goodwill_body(5);
    for_other["user_id"] = json!(Uuid::now_v7());
    let response = app
        .post_json("/v1/goodwill-actions", Some(&member_token), &for_other)
        .await;
    problem(response, 403).await;

    let mut for_self = goodwill_body(5);
    for_self["user_id"] = json!(member);
    let response = app
        .post_json("/v1/goodwill-actions", Some(&member_token), &for_self)
        .await;
    assert_eq!(response.status().as_u16(), 202);

    let service_token = app.token(Uuid::now_v7(), Role::Service);
    let response = app
        .post_json(
            "/v1/goodwill-actions",
            Some(&service_token),
            &goodwill_body(5),
        )
        .await;
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "user_id");
    let response = app
        .post_json("/v1/goodwill-actions", Some(&service_token), &for_other)
        .await;
    assert_eq!(response.status().as_u16(), 202);
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn unknown_routes_ids_and_methods_answer_problem_json() {
    let app = spawn_app().await.expect("app");
    problem(app.get("/v1/nothing-here").await, 404).await;
    problem(app.get("/v1/users/not-a-uuid/wallet").await, 404).await;
    problem(
        app.get(&format!("/v1/users/{}/wallet", Uuid::now_v7()))
            .await,
        404,
    )
    .await;
    problem(app.get(&format!("/v1/jobs/{}", Uuid::now_v7())).await, 404).await;
    problem(app.get("/v1/jobs/42").await, 404).await;
    let wrong_method = app
        .client
        .delete(format!("{}/v1/goodwill-actions", app.address))
        .send()
        .await
        .expect("response");
    problem(wrong_method, 405).await;
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn health_reports_both_dependencies_and_metrics_count_requests() {
    let app = spawn_app().await.expect("app");
    let body = app.get_json("/health").await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["postgres"], "up");
    assert_eq!(body["redis"], "up");

    let token = app.token(Uuid::now_v7(), Role::Member);
    app.post_json("/v1/goodwill-actions", Some(&token), &goodwill_body(1))
        .await;
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(metrics.contains("coin_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains(r#"route="/v1/goodwill-actions""#),
        "{metrics}"
    );
    assert!(metrics.contains("coin_jobs_enqueued_total"), "{metrics}");
    // How many jobs the coalesced pushes carried per Redis script call.
    for name in [
        "coin_enqueue_script_calls_total",
        "coin_enqueue_coalesced_jobs_total",
    ] {
        assert!(
            metrics.contains(&format!(r#"{name}{{queue="goodwill"}}"#)),
            "{name} missing: {metrics}"
        );
    }
    assert!(
        metrics.contains("coin_http_request_duration_seconds"),
        "{metrics}"
    );
    app.teardown().await.expect("teardown");
}

#[test]
fn the_goodwill_queue_keeps_its_contract_name() {
    assert_eq!(RecordGoodwill::QUEUE, "goodwill");
}

#[tokio::test]
async fn data_after_the_json_body_is_refused_and_cannot_pass_for_another_body_under_a_key() {
    let app = spawn_app().await.expect("app");
    let token = app.token(Uuid::now_v7(), Role::Member);
    let valid = goodwill_body(5).to_string();
    let send = |raw: String, key: &'static str| {
        let (app, token) = (&app, token.clone());
        async move {
            app.client
                .post(format!("{}/v1/goodwill-actions", app.address))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .header("Idempotency-Key", key)
                .body(raw)
                .send()
                .await
                .expect("response")
        }
    };
    for trailing in [
        format!("{valid}xyz"),
        format!("{valid}{valid}"),
        format!("{valid} ]"),
    ] {
        let body = problem(send(trailing, "trailing").await, 400).await;
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("after the JSON document")),
            "{body}"
        );
    }
    let depth = app.queue.depth(RecordGoodwill::QUEUE).await.expect("depth");
    assert_eq!(depth.backlog, 0, "nothing was enqueued");
    // The key was never claimed by those bodies: a valid one is its first use.
    let first = send(valid.clone(), "trailing").await;
    assert_eq!(first.status().as_u16(), 202);
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let other = goodwill_body(6).to_string();
    problem(send(other, "trailing").await, 422).await;
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn every_answer_carries_the_client_request_id_or_a_fresh_one() {
    let app = spawn_app().await.expect("app");
    let token = app.token(Uuid::now_v7(), Role::Member);
    let sent = app
        .client
        .post(format!("{}/v1/goodwill-actions", app.address))
        .bearer_auth(&token)
        .header("x-request-id", "trace-me-7")
        .json(&goodwill_body(5))
        .send()
        .await
        .expect("the API answers");
    assert_eq!(sent.status().as_u16(), 202);
    assert_eq!(sent.headers()["x-request-id"], "trace-me-7");
    for path in ["/v1/no-such-route", "/v1/jobs/not-a-uuid", "/livez"] {
        let response = app.get(path).await;
        let id = response.headers()["x-request-id"]
            .to_str()
            .expect("visible ASCII");
        assert!(id.parse::<Uuid>().is_ok(), "{path}: minted {id}");
    }
    app.teardown().await.expect("teardown");
}
