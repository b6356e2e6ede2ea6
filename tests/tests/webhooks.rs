//! Outbound webhooks against a real receiver (an axum server on a random local port) that
//! verifies every signature and answers from a script of status codes.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use coin_shared::webhooks::{WebhookSecret, verify};
use coin_tests::{Scene, TokenRole as Role, goodwill_body, wait_for};
use serde_json::{Value, json};
use uuid::Uuid;

/// One request the receiver saw.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    signed: bool,
    body: Value,
    /// When it arrived.
    at: Instant,
}

#[derive(Clone, Default)]
struct Receiver {
    /// Status codes answered in turn; the last one repeats. A 429 says `Retry-After: 2`.
    script: Arc<Vec<u16>>,
    secret: Arc<Mutex<Option<WebhookSecret>>>,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: Vec<u16>) -> (Self, String) {
        let receiver = Receiver {
            script: Arc::new(script),
            ..Default::default()
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1]) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or_default();
    let secret = r.secret.lock().expect("lock").clone();
    let signed =
        secret.is_some_and(|s| verify(&s, &id, timestamp, &body, &header("webhook-signature")));
    let mut seen = r.seen.lock().expect("lock");
    seen.push(Received {
        id,
        signed,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    });
    let code = r
        .script
        .get(seen.len() - 1)
        .or(r.script.last())
        .copied()
        .unwrap_or(204);
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    let retry_after = if code == StatusCode::TOO_MANY_REQUESTS {
        "2"
    } else {
        "0"
    };
    (code, [("retry-after", retry_after)])
}

/// What these tests do on a scene whose caller is an operator.
trait Webhooks {
    /// Registers `url` for `event_types`, tells the receiver the secret, returns the endpoint id.
    async fn register(&self, receiver: &Receiver, url: &str, event_types: &[&str]) -> Uuid;
    /// Records a goodwill action as a new member and waits for it; returns the 202 body.
    async fn record_goodwill(&self) -> Value;
    /// The newest delivery: id, status, attempts and the receiver's last status code.
    async fn delivery(&self) -> (Uuid, String, i32, Option<i32>);
    /// Asserts the newest delivery was delivered (a 204) after `attempts`, once the worker has
    /// recorded its outcome; returns its id.
    async fn delivered(&self, attempts: i32) -> Uuid;
}

impl Webhooks for Scene {
    async fn register(&self, receiver: &Receiver, url: &str, event_types: &[&str]) -> Uuid {
        let answer = self
            .app
            .applied(
                "/v1/webhook-endpoints",
                &self.token,
                &json!({"url": url, "event_types": event_types}),
            )
            .await;
        let secret = answer["secret"].as_str().expect("a secret").to_owned();
        assert!(secret.starts_with("whsec_"), "{answer}");
        *receiver.secret.lock().expect("lock") = Some(WebhookSecret::new(secret));
        answer["endpoint_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("endpoint_id")
    }

    async fn record_goodwill(&self) -> Value {
        let member = self.app.token(Uuid::now_v7(), Role::Member);
        self.app
            .applied("/v1/goodwill-actions", &member, &goodwill_body(7))
            .await
    }

    async fn delivery(&self) -> (Uuid, String, i32, Option<i32>) {
        sqlx::query_as(
            "SELECT id, status::text, attempts, last_status_code FROM webhook_deliveries
             ORDER BY created_at DESC LIMIT 1",
        )
        .fetch_one(&self.app.db.pool)
        .await
        .expect("a delivery row")
    }

    async fn delivered(&self, attempts: i32) -> Uuid {
        // The receiver answers before the worker records the answer: wait for the record.
        let recorded = wait_for(Duration::from_secs(10), "the delivery recorded", || async {
            let row = self.delivery().await;
            Ok((row.1 != "ENQUEUED" && row.1 != "PENDING").then_some(row))
        })
        .await;
        // Still not recorded: the assertion below says what the row holds.
        let (id, status, tries, code) = match recorded {
            Ok(row) => row,
            Err(_) => self.delivery().await,
        };
        assert_eq!(
            (status.as_str(), tries, code),
            ("DELIVERED", attempts, Some(204))
        );
        id
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt_with_the_same_signed_id() {
    let s = Scene::start(Role::Operator).await;
    let (receiver, url) = Receiver::start(vec![500, 500, 204]).await;
    s.register(&receiver, &url, &["goodwill.recorded"]).await;

    let accepted = s.record_goodwill().await;

    let seen = wait_for(Duration::from_secs(30), "a 2xx delivery", || async {
        let seen = receiver.seen();
        Ok((seen.len() >= 3).then_some(seen))
    })
    .await
    .expect("delivered");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen_after = receiver.seen();
    assert_eq!(
        seen_after.len(),
        3,
        "no delivery after the 2xx: {seen_after:?}"
    );
    assert!(
        seen.iter().all(|r| r.signed),
        "every signature verifies: {seen:?}"
    );
    assert!(
        seen.iter().all(|r| r.id == seen[0].id),
        "same webhook-id: {seen:?}"
    );
    assert_eq!(seen[0].body["type"], "goodwill.recorded");
    assert_eq!(seen[0].body["data"]["action_id"], accepted["action_id"]);
    assert_eq!(seen[0].body["data"]["loves_value"], 7);
    let id = s.delivered(3).await;
    assert_eq!(seen[0].id, format!("msg_{}", id.simple()));
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_with_retry_after_is_retried_after_the_stated_delay_not_the_backoff() {
    // The test worker's backoff is 100 ms doubling (capped at 2 s): a second attempt ~2 s after
    // the first can only come from the receiver's `Retry-After: 2`.
    let s = Scene::start(Role::Operator).await;
    let (receiver, url) = Receiver::start(vec![429, 204]).await;
    s.register(&receiver, &url, &["goodwill.recorded"]).await;

    s.record_goodwill().await;

    let seen = wait_for(Duration::from_secs(30), "the second attempt", || async {
        let seen = receiver.seen();
        Ok((seen.len() >= 2).then_some(seen))
    })
    .await
    .expect("delivered");
    let gap = seen[1].at - seen[0].at;
    assert!(
        (Duration::from_millis(1_900)..Duration::from_secs(6)).contains(&gap),
        "second attempt {gap:?} after the first"
    );
    s.delivered(2).await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_410_disables_the_endpoint_and_later_events_are_not_sent() {
    let s = Scene::start(Role::Operator).await;
    let (receiver, url) = Receiver::start(vec![410]).await;
    let endpoint = s.register(&receiver, &url, &["goodwill.recorded"]).await;

    s.record_goodwill().await;
    let reason: String = wait_for(Duration::from_secs(30), "the endpoint disabled", || async {
        let row: (bool, Option<String>) =
            sqlx::query_as("SELECT enabled, disabled_reason FROM webhook_endpoints WHERE id = $1")
                .bind(endpoint)
                .fetch_one(&s.app.db.pool)
                .await?;
        Ok((!row.0).then_some(row.1.unwrap_or_default()))
    })
    .await
    .expect("disabled");
    assert!(reason.contains("410"), "{reason}");

    s.record_goodwill().await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(receiver.seen().len(), 1);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action_type = 'WEBHOOK_ENDPOINT_DISABLED' AND subject_id = $1",
    )
    .bind(endpoint)
    .fetch_one(&s.app.db.pool)
    .await
    .expect("count");
    assert_eq!(audited, 1);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_400_is_permanent_the_job_is_dead_after_one_attempt_and_can_be_replayed() {
    let s = Scene::start(Role::Operator).await;
    let (receiver, url) = Receiver::start(vec![400, 200]).await;
    s.register(&receiver, &url, &["goodwill.recorded", "vote.cast"])
        .await;

    s.record_goodwill().await;
    let (id, ..) = wait_for(Duration::from_secs(30), "the delivery to fail", || async {
        let row = s.delivery().await;
        Ok((row.1 == "FAILED").then_some(row))
    })
    .await
    .expect("failed");
    let status = wait_for(Duration::from_secs(10), "the job to be dead", || async {
        let status: Value = s.app.get(&format!("/v1/jobs/{id}")).await.json().await?;
        Ok((status["state"] == "dead").then_some(status))
    })
    .await
    .expect("dead");
    assert_eq!(status["attempts"], 1, "{status}");
    assert_eq!(receiver.seen().len(), 1);

    // The dead set's replay delivers it under the same id.
    assert_eq!(
        s.app
            .queue
            .replay("webhooks", &[id.to_string()])
            .await
            .expect("replay"),
        1
    );
    wait_for(Duration::from_secs(30), "the replayed delivery", || async {
        Ok((s.delivery().await.1 == "DELIVERED").then_some(()))
    })
    .await
    .expect("delivered on replay");
    let seen = receiver.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].id, seen[1].id);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registering_an_endpoint_needs_the_operator_role_and_known_event_types() {
    let s = Scene::start(Role::Operator).await;
    let member = s.app.token(Uuid::now_v7(), Role::Member);
    let body = json!({"url": "http://127.0.0.1:9/hook", "event_types": ["vote.cast"]});
    let forbidden = s
        .app
        .post_json("/v1/webhook-endpoints", Some(&member), &body)
        .await;
    assert_eq!(forbidden.status().as_u16(), 403);

    let bad = json!({"url": "ftp://example.org", "event_types": ["vote.cast", "nope"]});
    let refused = s
        .app
        .post_json("/v1/webhook-endpoints", Some(&s.token), &bad)
        .await;
    assert_eq!(refused.status().as_u16(), 422);
    let problem: Value = refused.json().await.expect("problem");
    let text = problem.to_string();
    assert!(text.contains("url") && text.contains("nope"), "{text}");
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_disables_an_endpoint_no_event_reaches_it_then_enables_it_and_events_do() {
    let s = Scene::start(Role::Operator).await;
    let (receiver, url) = Receiver::start(vec![204]).await;
    let endpoint = s.register(&receiver, &url, &["goodwill.recorded"]).await;
    let enabled = || async {
        sqlx::query_scalar::<_, bool>("SELECT enabled FROM webhook_endpoints WHERE id = $1")
            .bind(endpoint)
            .fetch_one(&s.app.db.pool)
            .await
            .expect("the endpoint")
    };

    let member = s.app.token(Uuid::now_v7(), Role::Member);
    let path = format!("/v1/webhook-endpoints/{endpoint}/disable");
    let refused = s.app.post_json(&path, Some(&member), &json!({})).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "operators only");
    let accepted = s.app.post_json(&path, Some(&s.token), &json!({})).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    assert_eq!(
        coin_tests::header(&accepted, "x-webhook-endpoint-id"),
        Some(endpoint.to_string().as_str())
    );
    let body: Value = accepted.json().await.expect("json");
    s.app.settled(&body).await;
    assert!(!enabled().await, "disabled");
    // Disabling it again changes nothing and audits nothing.
    s.app.applied(&path, &s.token, &json!({})).await;
    // An endpoint nobody registered: the command fails for good, saying so.
    let unknown = format!("/v1/webhook-endpoints/{}/disable", Uuid::now_v7());
    let job = s.app.accepted(&unknown, &s.token, &json!({})).await;
    coin_tests::assert_dead_because(&s.app.settled(&job).await, "no webhook endpoint has the id");

    s.record_goodwill().await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        receiver.seen().is_empty(),
        "a disabled endpoint gets nothing"
    );

    s.app
        .applied(
            &format!("/v1/webhook-endpoints/{endpoint}/enable"),
            &s.token,
            &json!({}),
        )
        .await;
    assert!(enabled().await, "enabled again");
    s.record_goodwill().await;
    wait_for(
        Duration::from_secs(30),
        "a delivery after enabling",
        || async { Ok((receiver.seen().len() == 1).then_some(())) },
    )
    .await
    .expect("delivered");
    let audits: Vec<String> = sqlx::query_scalar(
        "SELECT action_type FROM audit_log WHERE subject_id = $1 AND action_type LIKE 'WEBHOOK_ENDPOINT_%ABLED'
         ORDER BY created_at",
    )
    .bind(endpoint)
    .fetch_all(&s.app.db.pool)
    .await
    .expect("audits");
    assert_eq!(
        audits,
        ["WEBHOOK_ENDPOINT_DISABLED", "WEBHOOK_ENDPOINT_ENABLED"]
    );
    s.finish().await;
}

#[tokio::test]
async fn endpoints_inside_are_refused_at_registration_before_anything_is_enqueued() {
    let app = coin_tests::spawn_app_with(|s| s.webhook_allow_private = false)
        .await
        .expect("app");
    let operator = app.token(Uuid::now_v7(), Role::Operator);
    for url in [
        "http://127.0.0.1:9/hook",
        "http://0x7f000001/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7/hook",
        "http://localhost/hook",
        "https://user:secret@example.org/hook",
    ] {
        let body = json!({"url": url, "event_types": ["vote.cast"]});
        let refused = app
            .post_json("/v1/webhook-endpoints", Some(&operator), &body)
            .await;
        assert_eq!(refused.status().as_u16(), 422, "{url}");
        let problem: Value = refused.json().await.expect("problem");
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
    let public = json!({"url": "https://example.org/hook", "event_types": ["vote.cast"]});
    let accepted = app
        .post_json("/v1/webhook-endpoints", Some(&operator), &public)
        .await;
    assert_eq!(accepted.status().as_u16(), 202);
    let queued = app.queue.depth("governance").await.expect("depth").backlog;
    assert_eq!(queued, 1, "only the public endpoint was enqueued");
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_to_an_address_inside_fails_without_connecting() {
    // Registered while the API allowed it (or before the check existed); the worker refuses.
    let app = coin_tests::spawn_app().await.expect("app");
    let worker = app
        .spawn_worker_with(4, |w| w.webhooks.webhook_allow_private = false)
        .await
        .expect("worker");
    let s = Scene {
        token: app.token(Uuid::now_v7(), Role::Operator),
        app,
        worker,
    };
    let (receiver, url) = Receiver::start(vec![204]).await;
    s.register(&receiver, &url, &["goodwill.recorded"]).await;
    s.record_goodwill().await;
    let failed = wait_for(Duration::from_secs(10), "the delivery failed", || async {
        let row = s.delivery().await;
        Ok((row.1 == "FAILED").then_some(row))
    })
    .await
    .expect("a failed delivery");
    let reason: (Option<String>,) =
        sqlx::query_as("SELECT last_error FROM webhook_deliveries WHERE id = $1")
            .bind(failed.0)
            .fetch_one(&s.app.db.pool)
            .await
            .expect("the row");
    let reason = reason.0.unwrap_or_default();
    assert!(reason.contains("loopback"), "{reason}");
    assert!(receiver.seen().is_empty(), "the receiver was reached");
    s.finish().await;
}
