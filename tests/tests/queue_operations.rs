//! What operators do to the queues over HTTP, against real Redis and Postgres, the real API and
//! real `coin-worker` processes: a paused queue accepts but runs nothing until resumed, then runs
//! everything once; a cancelled job never runs; the search finds jobs by user and kind; a bulk
//! replay by filter replays exactly the matching dead jobs; every action leaves one audit row;
//! only operators may do any of it, and bad queries are 400 problems naming their parameter.

use std::{collections::BTreeSet, time::Duration};

use coin_tests::{TestApp, TokenRole as Role, goodwill_body, spawn_app, wait_for};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::process::Child;
use uuid::Uuid;

/// An operator's view of the app: its token, and requests that return status and body.
struct Operator<'a> {
    app: &'a TestApp,
    id: Uuid,
    token: String,
}

/// An answer: status, `Location` and `Content-Type`, and the JSON body (`Null` if none).
struct Answer {
    status: u16,
    location: Option<String>,
    content_type: String,
    body: Value,
}

impl Answer {
    /// Asserts a problem+json answer with `status`; returns the problem.
    fn problem(&self, status: u16, what: &str) -> &Value {
        assert_eq!(self.status, status, "{what}: {}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "{what}");
        assert_eq!(self.body["status"], status, "{what}: {}", self.body);
        &self.body
    }
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Answer {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("the API answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let location = header("location");
    let content_type = header("content-type").unwrap_or_default();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Answer {
        status,
        location,
        content_type,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

impl<'a> Operator<'a> {
    fn new(app: &'a TestApp) -> Self {
        let id = Uuid::now_v7();
        Self {
            app,
            id,
            token: app.token(id, Role::Operator),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        send(self.app, Method::GET, path, &self.token, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        send(self.app, Method::POST, path, &self.token, Some(body)).await
    }

    /// `GET /v1/queues`'s entry for `queue`.
    async fn queue(&self, queue: &str) -> Value {
        let answer = self.get("/v1/queues").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|q| q["queue"] == queue))
            .cloned()
            .unwrap_or_else(|| panic!("no `{queue}` in {}", answer.body))
    }

    /// Pauses (or resumes) `queue`, asserting the 200 and the queue's new state.
    async fn toggle(&self, queue: &str, verb: &str) -> Value {
        let answer = self
            .post(&format!("/v1/queues/{queue}/{verb}"), &json!({}))
            .await;
        assert_eq!(answer.status, 200, "{verb} {queue}: {}", answer.body);
        assert_eq!(answer.body["queue"], queue);
        assert_eq!(answer.body["paused"], verb == "pause", "{}", answer.body);
        answer.body
    }

    /// `GET /v1/jobs?<query>`: the job ids of its first page (asserting the 200).
    async fn search(&self, query: &str) -> Vec<String> {
        let answer = self.get(&format!("/v1/jobs?{query}")).await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
        answer.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|job| job["job_id"].as_str().expect("job_id").to_owned())
            .collect()
    }

    /// Waits until `GET /v1/jobs/{id}` says `state`.
    async fn wait_state(&self, job_id: &str, state: &str) -> Value {
        let path = format!("/v1/jobs/{job_id}");
        wait_for(
            Duration::from_secs(30),
            &format!("{job_id} {state}"),
            || async {
                let status: Value = self.app.get(&path).await.json().await?;
                Ok((status["state"] == state).then_some(status))
            },
        )
        .await
        .expect("the job reaches the state")
    }
}

fn job_id(accepted: &Value) -> String {
    accepted["job_id"].as_str().expect("a job_id").to_owned()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.pool)
        .await
        .expect(sql)
}

/// A real `coin-worker` process, once it heartbeats on `queue`.
async fn worker(app: &TestApp, operator: &Operator<'_>, queue: &str) -> Child {
    let child = app.worker_process(&[]).expect("coin-worker starts");
    wait_for(Duration::from_secs(60), "a live worker", || async {
        let entry = operator.queue(queue).await;
        Ok((entry["live_workers"].as_u64() >= Some(1)).then_some(()))
    })
    .await
    .expect("the worker is live");
    child
}

async fn stop(mut worker: Child) {
    worker.kill().await.expect("the worker stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_queue_accepts_but_runs_nothing_and_after_resume_runs_every_job_once() {
    let app = spawn_app().await.expect("app");
    let operator = Operator::new(&app);
    let worker = worker(&app, &operator, "goodwill").await;

    let paused = operator.toggle("goodwill", "pause").await;
    assert_eq!(
        (&paused["changed"], &paused["detail"]),
        (&json!(true), &json!("paused"))
    );
    let again = operator.toggle("goodwill", "pause").await;
    assert_eq!(
        (&again["changed"], &again["detail"]),
        (&json!(false), &json!("already paused")),
        "pausing a paused queue is a 200 that says so"
    );
    // Workers look at the pause within 250 ms.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 500 actions of 50 users, posted by a service while the queue is paused: all accepted.
    let users: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
    let actions: Vec<Value> = (0..500)
        .map(|i| {
            let mut action = goodwill_body(i % 10 + 1);
            action["user_id"] = json!(users[i as usize % users.len()]);
            action
        })
        .collect();
    // Five batches of 100 (the test API's body limit is 64 KiB).
    let service = app.token(Uuid::now_v7(), Role::Service);
    for batch in actions.chunks(100) {
        let answer = app
            .accepted(
                "/v1/goodwill-actions:batch",
                &service,
                &json!({ "actions": batch }),
            )
            .await;
        assert_eq!(
            answer["accepted"], 100,
            "the API keeps accepting into a paused queue"
        );
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count(&app, "SELECT count(*) FROM goodwill_actions").await,
        0,
        "a paused queue runs nothing"
    );
    let first = operator.queue("goodwill").await;
    assert!(first["ready"].as_u64() >= Some(500), "{first}");
    assert_eq!(first["paused"], true);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let second = operator.queue("goodwill").await;
    assert!(second["ready"].as_u64() >= Some(500), "{second}");
    let latency = |q: &Value| q["latency_secs"].as_f64().expect("latency_secs");
    assert!(
        latency(&second) > latency(&first) && latency(&first) > 0.0,
        "the oldest waiting job only gets older: {first} then {second}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM goodwill_actions").await,
        0
    );

    let resumed = operator.toggle("goodwill", "resume").await;
    assert_eq!(resumed["changed"], true);
    wait_for(Duration::from_secs(90), "500 committed actions", || async {
        Ok((count(&app, "SELECT count(*) FROM goodwill_actions").await >= 500).then_some(()))
    })
    .await
    .expect("the actions commit after the resume");
    wait_for(Duration::from_secs(30), "a drained queue", || async {
        let q = operator.queue("goodwill").await;
        Ok((q["ready"] == 0 && q["scheduled"] == 0 && q["inflight"] == 0).then_some(()))
    })
    .await
    .expect("drained");
    assert_eq!(
        count(&app, "SELECT count(*) FROM goodwill_actions").await,
        500
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM ledger_entries").await,
        500,
        "each action credited exactly once"
    );
    let again = operator.toggle("goodwill", "resume").await;
    assert_eq!(
        (&again["changed"], &again["detail"]),
        (&json!(false), &json!("already running"))
    );
    stop(worker).await;
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_cancelled_while_its_queue_is_paused_never_runs() {
    let app = spawn_app().await.expect("app");
    let operator = Operator::new(&app);
    let worker = worker(&app, &operator, "goodwill").await;
    operator.toggle("goodwill", "pause").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let cancelled = app
        .accepted(
            "/v1/goodwill-actions",
            &app.token(alice, Role::Member),
            &goodwill_body(7),
        )
        .await;
    let kept = app
        .accepted(
            "/v1/goodwill-actions",
            &app.token(bob, Role::Member),
            &goodwill_body(3),
        )
        .await;
    let victim = job_id(&cancelled);

    let answer = operator
        .post(&format!("/v1/jobs/{victim}/cancel"), &json!({}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["outcome"], "cancelled");
    assert_eq!(answer.body["job_id"], victim.as_str());
    assert_eq!(answer.body["queue"], "goodwill");
    let twice = operator
        .post(&format!("/v1/jobs/{victim}/cancel"), &json!({}))
        .await;
    assert_eq!(twice.status, 200);
    assert_eq!(twice.body["outcome"], "already_cancelled");
    operator
        .post(&format!("/v1/jobs/{}/cancel", Uuid::now_v7()), &json!({}))
        .await
        .problem(404, "an unknown job");
    operator
        .post("/v1/jobs/not-a-job/cancel", &json!({}))
        .await
        .problem(404, "not a job id");

    operator.toggle("goodwill", "resume").await;
    assert_eq!(app.settled(&kept).await["state"], "done");
    // Give the cancelled job every chance to run, had it not been cancelled.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = app.get_json(&format!("/v1/jobs/{victim}")).await;
    assert_eq!(status["state"], "cancelled", "{status}");
    let action = cancelled["action_id"].as_str().expect("action_id");
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM goodwill_actions WHERE id = '{action}'")
        )
        .await,
        0,
        "the cancelled action never ran"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM goodwill_actions").await,
        1,
        "the other one did"
    );
    assert_eq!(operator.queue("goodwill").await["cancelled"], 1);

    let done = operator
        .post(&format!("/v1/jobs/{}/cancel", job_id(&kept)), &json!({}))
        .await;
    let problem = done.problem(409, "a finished job");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("already finished"),
        "{problem}"
    );
    stop(worker).await;
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_search_finds_jobs_by_user_and_kind_and_redacts_secrets() {
    // No worker: every job stays queued.
    let app = spawn_app().await.expect("app");
    let operator = Operator::new(&app);
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let alice_token = app.token(alice, Role::Member);
    let mut alices = BTreeSet::new();
    for points in [4, 9] {
        let accepted = app
            .accepted("/v1/goodwill-actions", &alice_token, &goodwill_body(points))
            .await;
        alices.insert(job_id(&accepted));
    }
    let bobs = job_id(
        &app.accepted(
            "/v1/goodwill-actions",
            &app.token(bob, Role::Member),
            &goodwill_body(2),
        )
        .await,
    );
    let delegation = job_id(
        &app.accepted(
            "/v1/delegations",
            &alice_token,
            &json!({"delegate_id": bob}),
        )
        .await,
    );
    let webhook = job_id(
        &operator
            .post(
                "/v1/webhook-endpoints",
                &json!({"url": "https://example.org/hook", "event_types": ["vote.cast"]}),
            )
            .await
            .body,
    );

    let found: BTreeSet<String> = operator
        .search(&format!(
            "state=queued&queue=goodwill&kind=record_goodwill&user_id={alice}"
        ))
        .await
        .into_iter()
        .collect();
    assert_eq!(found, alices, "alice's goodwill jobs, not bob's");
    let page = operator
        .get(&format!(
            "/v1/jobs?state=queued&kind=record_goodwill&user_id={alice}"
        ))
        .await
        .body;
    for job in page["items"].as_array().expect("items") {
        assert_eq!(
            (&job["queue"], &job["kind"], &job["state"]),
            (
                &json!("goodwill"),
                &json!("record_goodwill"),
                &json!("queued")
            )
        );
        assert_eq!(job["payload"]["user_id"], alice.to_string());
    }
    let all_of_alice: BTreeSet<String> = operator
        .search(&format!("state=queued&user_id={alice}"))
        .await
        .into_iter()
        .collect();
    let mut expected = alices.clone();
    expected.insert(delegation.clone());
    assert_eq!(all_of_alice, expected, "every kind, every queue");
    assert_eq!(
        operator
            .search(&format!("state=queued&kind=record_goodwill&user_id={bob}"))
            .await,
        vec![bobs]
    );
    assert_eq!(
        operator
            .search(&format!(
                "state=queued&kind=create_delegation&user_id={alice}"
            ))
            .await,
        vec![delegation]
    );
    for nothing in [
        format!("state=queued&kind=cast_vote&user_id={alice}"),
        format!("state=queued&queue=votes&user_id={alice}"),
        format!("state=dead&user_id={alice}"),
        format!(
            "state=queued&kind=record_goodwill&user_id={}",
            Uuid::now_v7()
        ),
    ] {
        assert_eq!(
            operator.search(&nothing).await,
            Vec::<String>::new(),
            "{nothing}"
        );
    }

    // One match a page: the cursor leads to the other, then to the end.
    let query = format!("state=queued&kind=record_goodwill&user_id={alice}&limit=1");
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            None => format!("/v1/jobs?{query}"),
            Some(c) => format!("/v1/jobs?{query}&cursor={}", urlencode(c)),
        };
        let page = operator.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().expect("items");
        assert!(items.len() <= 1);
        seen.extend(
            items
                .iter()
                .map(|j| j["job_id"].as_str().expect("id").to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, alices, "paging finds each match once");

    let registration = operator
        .get("/v1/jobs?state=queued&queue=governance&kind=register_webhook_endpoint")
        .await
        .body;
    let job = &registration["items"][0];
    assert_eq!(job["job_id"], webhook.as_str(), "{registration}");
    assert_eq!(job["payload"]["secret"], "[redacted]", "{job}");
    assert_eq!(job["payload"]["url"], "https://example.org/hook");
    app.teardown().await.expect("teardown");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A draft proposal (votes on it die: "DRAFT").
async fn draft(app: &TestApp, council: &str) -> String {
    let created = app
        .applied(
            "/v1/proposals",
            council,
            &json!({"title": "Fix the roof", "description": "Before the rains"}),
        )
        .await;
    created["proposal_id"].as_str().expect("id").to_owned()
}

/// A vote of `voter` on `proposal`, once its job settled; returns the 202 body.
async fn vote(app: &TestApp, proposal: &str, voter: Uuid) -> Value {
    let accepted = app
        .accepted(
            &format!("/v1/proposals/{proposal}/votes"),
            &app.token(voter, Role::Member),
            &json!({"choice": "FOR"}),
        )
        .await;
    app.settled(&accepted).await;
    accepted
}

/// Waits until the bulk job of a 202 is done; returns its status.
async fn bulk_done(operator: &Operator<'_>, accepted: &Answer) -> Value {
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let id = job_id(&accepted.body);
    assert_eq!(
        accepted.location.as_deref(),
        Some(format!("/v1/jobs/{id}").as_str())
    );
    assert_eq!(accepted.body["status_url"], format!("/v1/jobs/{id}"));
    operator.wait_state(&id, "done").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bulk_replay_by_filter_replays_exactly_the_matching_dead_jobs() {
    let app = spawn_app().await.expect("app");
    let operator = Operator::new(&app);
    let worker = worker(&app, &operator, "votes").await;
    let council = app.token(Uuid::now_v7(), Role::Council);
    let (alice, bob, carol) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());

    // Dead: alice's two votes and bob's vote on drafts, alice's revoke of bob's delegation.
    let (first, second) = (draft(&app, &council).await, draft(&app, &council).await);
    let alice_votes = [
        vote(&app, &first, alice).await,
        vote(&app, &second, alice).await,
    ];
    let bob_vote = vote(&app, &first, bob).await;
    let delegation = app
        .applied(
            "/v1/delegations",
            &app.token(bob, Role::Member),
            &json!({"delegate_id": carol}),
        )
        .await;
    let revoke = app
        .client
        .delete(format!(
            "{}/v1/delegations/{}",
            app.address,
            delegation["delegation_id"].as_str().expect("id")
        ))
        .bearer_auth(app.token(alice, Role::Member))
        .send()
        .await
        .expect("revoke");
    let revoke: Value = revoke.json().await.expect("json");
    for dead in alice_votes.iter().chain([&bob_vote, &revoke]) {
        assert_eq!(app.settled(dead).await["state"], "dead", "{dead}");
    }

    let dry = |filter: Value| {
        let mut body = filter;
        body["action"] = json!("replay");
        body["state"] = json!("dead");
        body["dry_run"] = json!(true);
        body
    };
    for (filter, matched) in [
        (json!({"kind": "cast_vote", "user_id": alice}), 2),
        (json!({"user_id": alice}), 3),
        (json!({"queue": "votes"}), 3),
        (json!({"kind": "cast_vote", "user_id": bob}), 1),
        (json!({}), 4),
    ] {
        let answer = operator.post("/v1/jobs/bulk", &dry(filter.clone())).await;
        assert_eq!(answer.status, 200, "{filter}: {}", answer.body);
        assert_eq!(answer.body["matched"], matched, "{filter}");
    }
    let refused = operator
        .post(
            "/v1/jobs/bulk",
            &json!({"action": "replay", "state": "queued", "dry_run": true}),
        )
        .await;
    let problem = refused.problem(422, "a replay of queued jobs");
    assert_eq!(problem["errors"][0]["field"], "state");
    assert_eq!(
        problem["errors"][0]["message"],
        "replay applies to dead jobs, not queued ones"
    );

    // The fix, then the replay of alice's votes only.
    for proposal in [&first, &second] {
        app.open(&council, proposal).await;
    }
    let accepted = operator
        .post(
            "/v1/jobs/bulk",
            &json!({
                "action": "replay", "state": "dead", "kind": "cast_vote", "user_id": alice,
                "dry_run": false,
            }),
        )
        .await;
    let status = bulk_done(&operator, &accepted).await;
    assert_eq!(
        (
            &status["progress"]["matched"],
            &status["progress"]["applied"],
            &status["progress"]["finished"]
        ),
        (&json!(2), &json!(2), &json!(true)),
        "{status}"
    );
    for replayed in &alice_votes {
        operator.wait_state(&job_id(replayed), "done").await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for untouched in [&bob_vote, &revoke] {
        let status = app
            .get_json(&format!("/v1/jobs/{}", job_id(untouched)))
            .await;
        assert_eq!(
            status["state"], "dead",
            "not matched, not replayed: {status}"
        );
    }
    let still_dead: BTreeSet<String> = operator.search("state=dead").await.into_iter().collect();
    assert_eq!(
        still_dead,
        BTreeSet::from([job_id(&bob_vote), job_id(&revoke)])
    );
    let tally = app.get_json(&format!("/v1/proposals/{first}")).await["tally"].clone();
    assert_eq!(
        tally["for"], 1,
        "alice's vote counts, bob's is still dead: {tally}"
    );
    stop(worker).await;
    app.teardown().await.expect("teardown");
}

/// One `audit_log` row: action, actor id, actor text, subject type, subject id, details.
type AuditRow = (
    String,
    Option<Uuid>,
    Option<String>,
    String,
    Option<Uuid>,
    Value,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_operator_action_is_audited_once_with_its_actor_subject_and_counts() {
    let app = spawn_app().await.expect("app");
    let operator = Operator::new(&app);
    let worker = worker(&app, &operator, "goodwill").await;
    let member = app.token(Uuid::now_v7(), Role::Member);

    operator.toggle("goodwill", "pause").await;
    operator.toggle("goodwill", "pause").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cancelled = job_id(
        &app.accepted("/v1/goodwill-actions", &member, &goodwill_body(1))
            .await,
    );
    let answer = operator
        .post(&format!("/v1/jobs/{cancelled}/cancel"), &json!({}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    operator.toggle("goodwill", "resume").await;
    operator.toggle("goodwill", "resume").await;
    // Refused actions audit nothing.
    let forbidden = send(&app, Method::POST, "/v1/queues/votes/pause", &member, None).await;
    assert_eq!(forbidden.status, 403);
    operator
        .post(&format!("/v1/jobs/{}/cancel", Uuid::now_v7()), &json!({}))
        .await
        .problem(404, "an unknown job");

    // Two dead votes: one replayed alone, then both with replay-all, then both cancelled in bulk.
    let council = app.token(Uuid::now_v7(), Role::Council);
    let proposal = draft(&app, &council).await;
    let votes = [
        vote(&app, &proposal, Uuid::now_v7()).await,
        vote(&app, &proposal, Uuid::now_v7()).await,
    ];
    let replayed = job_id(&votes[0]);
    let answer = operator
        .post(&format!("/v1/dead-jobs/{replayed}/replay"), &json!({}))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    operator.wait_state(&replayed, "dead").await;
    let answer = operator
        .post("/v1/dead-jobs:replay-all", &json!({"queue": "votes"}))
        .await;
    assert_eq!(answer.body["replayed"], 2, "{}", answer.body);
    for vote in &votes {
        operator.wait_state(&job_id(vote), "dead").await;
    }
    let empty = operator
        .post("/v1/dead-jobs:replay-all", &json!({"queue": "governance"}))
        .await;
    assert_eq!(
        empty.body["replayed"], 0,
        "nothing replayed, nothing audited"
    );
    let accepted = operator
        .post(
            "/v1/jobs/bulk",
            &json!({"action": "cancel", "queue": "votes", "state": "dead", "dry_run": false}),
        )
        .await;
    let bulk = job_id(&accepted.body);
    assert_eq!(
        bulk_done(&operator, &accepted).await["progress"]["applied"],
        2
    );
    let dry = operator
        .post(
            "/v1/jobs/bulk",
            &json!({"action": "delete", "state": "cancelled", "dry_run": true}),
        )
        .await;
    assert_eq!(
        dry.body["matched"], 3,
        "a dry run changes nothing: {}",
        dry.body
    );

    let read = || async {
        sqlx::query_as::<_, AuditRow>(
            "SELECT action_type, actor_user_id, details->>'actor', subject_type, subject_id,
                    details
             FROM audit_log WHERE action_type = ANY($1) ORDER BY action_type",
        )
        .bind(coin_shared::operations::audit_action::ALL)
        .fetch_all(&app.db.pool)
        .await
    };
    wait_for(Duration::from_secs(30), "six audit rows", || async {
        Ok((read().await?.len() >= 6).then_some(()))
    })
    .await
    .expect("the audit rows are written");
    // Long enough for a duplicate to show, had one been queued.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rows = read().await.expect("audit rows");
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "DEAD_JOBS_REPLAYED",
            "DEAD_JOB_REPLAYED",
            "JOBS_BULK_CANCEL",
            "JOB_CANCELLED",
            "QUEUE_PAUSED",
            "QUEUE_RESUMED",
        ],
        "one row per action that changed something: {rows:?}"
    );
    let actor = format!("user:{}", operator.id);
    for (action, actor_id, actor_text, _, _, _) in &rows {
        assert_eq!(*actor_id, Some(operator.id), "{action}");
        assert_eq!(actor_text.as_deref(), Some(actor.as_str()), "{action}");
    }
    let row = |action: &str| rows.iter().find(|r| r.0 == action).expect("a row").clone();
    let uuid = |s: &str| s.parse::<Uuid>().ok();
    for action in ["QUEUE_PAUSED", "QUEUE_RESUMED"] {
        let (_, _, _, kind, subject_id, details) = row(action);
        assert_eq!((kind.as_str(), subject_id), ("queue", None), "{action}");
        assert_eq!(details["subject"], "goodwill", "{action}");
    }
    let (_, _, _, kind, subject_id, details) = row("JOB_CANCELLED");
    assert_eq!((kind.as_str(), subject_id), ("job", uuid(&cancelled)));
    assert_eq!(details["details"]["queue"], "goodwill");
    assert_eq!(details["details"]["outcome"]["outcome"], "cancelled");
    let (_, _, _, kind, subject_id, details) = row("DEAD_JOB_REPLAYED");
    assert_eq!((kind.as_str(), subject_id), ("job", uuid(&replayed)));
    assert_eq!(details["details"]["queue"], "votes");
    let (_, _, _, kind, subject_id, details) = row("DEAD_JOBS_REPLAYED");
    assert_eq!((kind.as_str(), subject_id), ("queue", None));
    assert_eq!(details["subject"], "votes");
    assert_eq!(details["details"]["count"], 2);
    let (_, _, _, kind, subject_id, details) = row("JOBS_BULK_CANCEL");
    assert_eq!((kind.as_str(), subject_id), ("job", uuid(&bulk)));
    assert_eq!(
        (&details["matched"], &details["applied"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(details["filter"]["queue"], "votes");
    stop(worker).await;
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_operators_may_act_and_bad_queries_are_400_problems_naming_the_parameter() {
    let app = spawn_app().await.expect("app");
    let operator = Operator::new(&app);
    let job = format!("/v1/jobs/{}/cancel", Uuid::now_v7());
    let bulk = json!({"action": "replay", "state": "dead", "dry_run": false});
    let routes: [(Method, &str, Option<&Value>); 6] = [
        (Method::GET, "/v1/queues", None),
        (Method::POST, "/v1/queues/goodwill/pause", None),
        (Method::POST, "/v1/queues/goodwill/resume", None),
        (Method::POST, &job, None),
        (Method::GET, "/v1/jobs?state=queued", None),
        (Method::POST, "/v1/jobs/bulk", Some(&bulk)),
    ];
    for role in [Role::Member, Role::Council, Role::Service] {
        let token = app.token(Uuid::now_v7(), role);
        for (method, path, body) in &routes {
            let answer = send(&app, method.clone(), path, &token, *body).await;
            let what = format!("{role:?} {method} {path}");
            let problem = answer.problem(403, &what);
            assert_eq!(
                problem["type"], "https://peoples-coin.dev/problems/forbidden",
                "{what}"
            );
        }
    }
    let anonymous = app.get("/v1/queues").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        operator.queue("goodwill").await["paused"],
        false,
        "a refused pause pauses nothing"
    );
    let operations = app.queue.depth("operations").await.expect("depth");
    assert_eq!(
        (operations.ready, operations.scheduled),
        (0, 0),
        "refused actions queue neither audits nor bulk jobs"
    );

    for (query, field) in [
        ("", Some("state")),
        ("state=", Some("state")),
        ("state=sleeping", Some("state")),
        ("state=dead&queue=nope", Some("queue")),
        ("state=dead&user_id=bob", Some("user_id")),
        ("state=dead&limit=0", Some("limit")),
        ("state=dead&limit=201", Some("limit")),
        ("state=dead&limit=ten", Some("limit")),
        ("state=dead&cursor=garbage", Some("cursor")),
        ("state=dead&cursor=nope%7Co%3A0", Some("cursor")),
        ("state=dead&cursor=goodwill%7Co%3A0", Some("cursor")),
        (
            "state=queued&queue=goodwill&cursor=goodwill%7Cz%3Aabc",
            Some("cursor"),
        ),
        ("state=dead&colour=red", None),
    ] {
        let answer = operator.get(&format!("/v1/jobs?{query}")).await;
        let problem = answer.problem(400, query);
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(field),
                "{query}: {problem}"
            );
        }
    }
    assert_eq!(
        operator.get("/v1/jobs?state=dead&limit=200").await.status,
        200
    );
    operator
        .post("/v1/queues/nope/pause", &json!({}))
        .await
        .problem(404, "an unknown queue");
    for (body, status, field) in [
        (
            json!({"action": "explode", "state": "dead", "dry_run": true}),
            400,
            "action",
        ),
        (json!({"action": "replay", "state": "dead"}), 400, "dry_run"),
        (
            json!({"action": "replay", "state": "dead", "dry_run": true, "queue": "nope"}),
            422,
            "queue",
        ),
        (
            json!({"action": "cancel", "state": "queued", "dry_run": true}),
            422,
            "state",
        ),
    ] {
        let answer = operator.post("/v1/jobs/bulk", &body).await;
        let problem = answer.problem(status, &body.to_string());
        let text = problem.to_string();
        assert!(text.contains(field), "{body}: {problem}");
    }
    app.teardown().await.expect("teardown");
}
