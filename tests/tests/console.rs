//! The operator console against a real controller, Postgres and Redis, over HTTP with a cookie
//! store: sign-in by role, the CSRF check, pause through the console (in Redis, and audited),
//! the overview's numbers, a dead job found and replayed from its page, and the live stream.

use std::time::Duration;

use coin_api::auth::{Role, TokenIssuer};
use coin_controller::{app::ControllerApp, settings::ControllerSettings};
use coin_shared::config::DatabaseSettings;
use coin_shared::{
    jobs::OPERATIONS_QUEUE,
    operations::{JobFilter, SearchState},
    queue::JobQueue,
};
use coin_tests::{
    TestApp, TestDatabase, TestWorker, goodwill_jobs, redis_settings, spawn_app, wait_for,
};
use reqwest::{StatusCode, redirect::Policy};
use secrecy::SecretString;
use serde_json::json;
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

/// A controller with its console, a queue handle on its namespace and a token signer.
struct Console {
    base: String,
    queue: JobQueue,
    tokens: TokenIssuer,
    /// The database, when the console owns it (not when it joins a [`TestApp`]'s).
    db: Option<TestDatabase>,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Console {
    async fn start() -> Self {
        Self::start_in(TestDatabase::create().await.expect("db"), |_| {}).await
    }

    /// A console on a database of its own, with `configure` applied to its settings.
    async fn start_with(configure: impl FnOnce(&mut ControllerSettings)) -> Self {
        Self::start_in(TestDatabase::create().await.expect("db"), configure).await
    }

    /// A console on `db`, which it owns (the decisions recorded there before it starts are its
    /// chart's), with `configure` applied to its settings.
    async fn start_in(db: TestDatabase, configure: impl FnOnce(&mut ControllerSettings)) -> Self {
        let namespace = format!("test-{}", Uuid::new_v4().simple());
        let secret = format!("console-test-{}", Uuid::new_v4().simple());
        let mut console =
            Self::start_configured(&db.settings(), &namespace, &secret, configure).await;
        console.db = Some(db);
        console
    }

    /// The API, a worker, and a console on their database and namespace.
    async fn with_pipeline() -> (TestApp, TestWorker, Self) {
        let app = spawn_app().await.expect("app");
        let worker = app.spawn_worker(2).await.expect("worker");
        let console = Self::start_on(&app.db.settings(), &app.namespace, &app.jwt_secret).await;
        (app, worker, console)
    }

    /// A console on an existing database and namespace, verifying tokens signed with `secret`.
    async fn start_on(db: &DatabaseSettings, namespace: &str, secret: &str) -> Self {
        Self::start_configured(db, namespace, secret, |_| {}).await
    }

    async fn start_configured(
        db: &DatabaseSettings,
        namespace: &str,
        secret: &str,
        configure: impl FnOnce(&mut ControllerSettings),
    ) -> Self {
        let mut settings: ControllerSettings = coin_tests::controller_settings(db, namespace, &[]);
        settings.identity =
            coin_shared::identity::IdentitySettings::secret(SecretString::from(secret.to_owned()));
        configure(&mut settings);
        let app = ControllerApp::build(&settings).await.expect("controller");
        let base = format!("http://{}", app.console_addr().expect("a console"));
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            base,
            queue: JobQueue::new(&redis_settings(namespace)).expect("queue"),
            tokens: TokenIssuer::new(&SecretString::from(secret.to_owned())).expect("verifier"),
            db: None,
            stop,
            handle,
        }
    }

    fn token(&self, role: Role) -> String {
        self.tokens
            .issue(Uuid::now_v7(), role, chrono::Duration::minutes(5))
            .expect("token")
    }

    /// A browser-like client: keeps cookies, does not follow redirects (so tests see them).
    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("client")
    }

    async fn sign_in(&self, client: &reqwest::Client, role: Role) -> reqwest::Response {
        client
            .post(format!("{}/login", self.base))
            .form(&[("token", self.token(role))])
            .send()
            .await
            .expect("POST /login")
    }

    /// A signed-in operator's client.
    async fn operator(&self) -> reqwest::Client {
        let client = Self::client();
        let response = self.sign_in(&client, Role::Operator).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
        client
    }

    /// `GET path` with `client`, whatever its status.
    async fn get(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    async fn page(&self, client: &reqwest::Client, path: &str) -> String {
        let response = self.get(client, path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.expect("html")
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.handle.await.expect("join").expect("clean stop");
        if let Some(db) = self.db {
            self.queue.purge_namespace().await.expect("purge");
            db.drop_database().await.expect("drop");
        }
    }
}

/// The value of `<input ... name="csrf" value="...">` in a page.
fn csrf(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field") + 19;
    html[at..].split('"').next().expect("a value").to_owned()
}

/// Stops the console, then the worker, then the app, and drops their database.
async fn finish(console: Console, worker: TestWorker, app: TestApp) {
    console.stop().await;
    worker.stop().await.expect("worker stops");
    app.teardown().await.expect("teardown");
}

/// A council token and a DRAFT proposal it created.
async fn draft_proposal(app: &TestApp) -> (String, String) {
    let council = app.token(Uuid::now_v7(), Role::Council);
    let proposal = app
        .proposal(&council, "Repair the well", "Before winter")
        .await;
    (council, proposal)
}

/// A member's vote on the DRAFT `proposal`, which fails for good: a dead job (its 202 body).
async fn dead_vote(app: &TestApp, proposal: &str) -> serde_json::Value {
    let vote = app
        .accepted(
            &format!("/v1/proposals/{proposal}/votes"),
            &app.token(Uuid::now_v7(), Role::Member),
            &json!({"choice": "FOR"}),
        )
        .await;
    assert_eq!(app.settled(&vote).await["state"], "dead");
    vote
}

/// Records a decision in `controller_actions` as the loop does, `ago` seconds ago (to the
/// millisecond): `current` → `desired` replicas for `reason`, with `notes`, having seen 400
/// ready goodwill jobs. Its row's id and the id of its entry under the overview's chart.
async fn record_decision(
    pool: &sqlx::PgPool,
    ago: f64,
    (current, desired): (i32, i32),
    reason: &str,
    notes: &[&str],
) -> (i64, String) {
    let (id, millis): (i64, i64) = sqlx::query_as(
        r#"INSERT INTO controller_actions
             ("timestamp", observed, recommendations, reason, current_replicas, desired_replicas)
           VALUES (date_trunc('milliseconds', now() - make_interval(secs => $1)),
                   '{"queues": {"by_queue": {"goodwill": {"backlog": 400, "latency_secs": 12.5}}}}',
                   jsonb_build_object('notes', $2::jsonb), $3, $4, $5)
           RETURNING id, (extract(epoch FROM "timestamp") * 1000)::bigint"#,
    )
    .bind(ago)
    .bind(json!(notes))
    .bind(reason)
    .bind(current)
    .bind(desired)
    .fetch_one(pool)
    .await
    .expect("a recorded decision");
    (id, format!("mark-{millis}"))
}

/// The markup from the element with `id` to the first `close` after it (`</tr>`).
fn element(html: &str, id: &str, close: &str) -> String {
    let at = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no element {id} in {html}"));
    let end = html[at..].find(close).map_or(html.len(), |end| at + end);
    html[at..end].to_owned()
}

/// Asserts that `parts` stand in `text` in this order.
fn in_order(text: &str, parts: &[&str]) {
    let mut from = 0;
    for part in parts {
        let at = text[from..]
            .find(part)
            .unwrap_or_else(|| panic!("no {part:?} after byte {from} of {text}"));
        from += at + part.len();
    }
}

/// The text of the element with `id`, e.g. `<td class="num" id="goodwill-ready">3</td>`.
fn text_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!(r#"id="{id}""#))?;
    let start = at + html[at..].find('>')? + 1;
    Some(html[start..start + html[start..].find('<')?].to_owned())
}

#[tokio::test]
async fn an_operator_token_signs_in_to_a_strict_http_only_session_and_sign_out_ends_it() {
    let console = Console::start().await;
    let client = Console::client();

    let login = client
        .get(format!("{}/", console.base))
        .send()
        .await
        .expect("GET /");
    assert_eq!(
        login.status(),
        StatusCode::SEE_OTHER,
        "signed out: to /login"
    );
    assert_eq!(login.headers()["location"], "/login");
    let form = console.page(&client, "/login").await;
    assert!(form.contains(r#"name="token""#), "{form}");

    let response = console.sign_in(&client, Role::Operator).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"].to_str().expect("ascii");
    for part in ["coin_console=", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let overview = console.page(&client, "/").await;
    assert!(overview.contains("Sign out"), "{overview}");

    let out = client
        .post(format!("{}/logout", console.base))
        .form(&[("csrf", csrf(&overview))])
        .send()
        .await
        .expect("POST /logout");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = client
        .get(format!("{}/", console.base))
        .send()
        .await
        .expect("GET /");
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "the session ended");
    console.stop().await;
}

#[tokio::test]
async fn a_member_token_a_bad_token_or_a_cross_site_form_is_refused_at_sign_in_with_403() {
    let console = Console::start().await;
    let client = Console::client();
    for role in [Role::Member, Role::Council, Role::Service] {
        let response = console.sign_in(&client, role).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role:?}");
        assert!(response.headers().get("set-cookie").is_none());
        let body = response.text().await.expect("html");
        assert!(body.contains("for operators"), "{body}");
    }
    let garbage = client
        .post(format!("{}/login", console.base))
        .form(&[("token", "not-a-jwt")])
        .send()
        .await
        .expect("POST");
    assert_eq!(garbage.status(), StatusCode::FORBIDDEN);
    let missing = client
        .post(format!("{}/login", console.base))
        .form(&[("other", "x")])
        .send()
        .await
        .expect("POST");
    assert_eq!(
        missing.status(),
        StatusCode::BAD_REQUEST,
        "a readable refusal"
    );
    console.stop().await;
}

#[tokio::test]
async fn a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing() {
    let console = Console::start().await;
    let client = console.operator().await;
    let pause = format!("{}/queues/goodwill/pause", console.base);
    let without = client.post(&pause).send().await.expect("POST");
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let wrong = client
        .post(&pause)
        .form(&[("csrf", "0".repeat(64))])
        .send()
        .await
        .expect("POST");
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let body = wrong.text().await.expect("html");
    assert!(body.contains("CSRF"), "{body}");
    let events = Console::client()
        .get(format!("{}/events", console.base))
        .send()
        .await
        .expect("GET /events");
    assert_eq!(
        events.status(),
        StatusCode::FORBIDDEN,
        "no stream signed out"
    );
    let signed_out = Console::client()
        .post(&pause)
        .form(&[("csrf", "x")])
        .send()
        .await
        .expect("POST");
    assert_eq!(signed_out.status(), StatusCode::FORBIDDEN, "no session");
    assert!(!console.queue.depth("goodwill").await.expect("depth").paused);
    console.stop().await;
}

#[tokio::test]
async fn pausing_through_the_console_pauses_the_queue_in_redis_and_queues_an_audit_entry() {
    let console = Console::start().await;
    let client = console.operator().await;
    let queues = console.page(&client, "/queues").await;
    let response = client
        .post(format!("{}/queues/goodwill/pause", console.base))
        .form(&[("csrf", csrf(&queues))])
        .send()
        .await
        .expect("POST pause");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(console.queue.depth("goodwill").await.expect("depth").paused);

    let audits = console
        .queue
        .search(
            &JobFilter {
                queue: Some(OPERATIONS_QUEUE.into()),
                state: SearchState::Queued,
                kind: Some("audit".into()),
                user_id: None,
            },
            None,
            10,
        )
        .await
        .expect("search");
    let entry = &audits.items.first().expect("an audit job").payload;
    assert_eq!(entry["action"], "QUEUE_PAUSED");
    assert_eq!(entry["subject"], "goodwill");
    assert_eq!(entry["details"]["via"], "console");
    assert!(
        entry["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("user:")),
        "{entry}"
    );

    let after = console.page(&client, "/queues").await;
    assert!(
        after.contains("Paused goodwill"),
        "the flash says what happened"
    );
    assert!(
        after.contains("/queues/goodwill/resume"),
        "now a resume button"
    );
    let resumed = client
        .post(format!("{}/queues/goodwill/resume", console.base))
        .form(&[("csrf", csrf(&after))])
        .send()
        .await
        .expect("POST resume");
    assert_eq!(resumed.status(), StatusCode::SEE_OTHER);
    assert!(!console.queue.depth("goodwill").await.expect("depth").paused);
    console.stop().await;
}

#[tokio::test]
async fn the_overview_shows_each_queues_ready_count_and_the_live_stream_sends_it() {
    let console = Console::start().await;
    let client = console.operator().await;
    console
        .queue
        .enqueue_batch(&goodwill_jobs(7, &[Uuid::now_v7()]))
        .await
        .expect("enqueue");
    let overview = console.page(&client, "/").await;
    assert_eq!(text_of(&overview, "goodwill-ready").as_deref(), Some("7"));
    assert_eq!(text_of(&overview, "votes-ready").as_deref(), Some("0"));
    assert!(overview.contains(r#"data-live="/events""#));
    // The host and Postgres gauges, once the loop has measured them.
    let gauges = wait_for(Duration::from_secs(20), "the gauges", || async {
        let html = console.page(&client, "/").await;
        Ok(text_of(&html, "db-connections").map(|db| (text_of(&html, "host-cpu"), db)))
    })
    .await
    .expect("measured");
    assert!(
        gauges.0.as_deref().is_some_and(|cpu| cpu.ends_with(" %")),
        "{gauges:?}"
    );
    assert!(
        gauges.1.contains(" of "),
        "connections of max_connections: {gauges:?}"
    );

    let mut events = client
        .get(format!("{}/events", console.base))
        .send()
        .await
        .expect("GET /events");
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    console
        .queue
        .enqueue_batch(&goodwill_jobs(3, &[Uuid::now_v7()]))
        .await
        .expect("enqueue");
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(r#"id="goodwill-ready">10<"#) {
        let chunk = tokio::time::timeout_at(deadline, events.chunk()).await;
        match chunk {
            Ok(Ok(Some(bytes))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            other => panic!("no update with 10 ready ({other:?}): {seen}"),
        }
    }
    assert!(seen.contains("event: update"), "{seen}");
    // The controller stops with a stream open whose client reads no more: shutdown still ends.
    tokio::time::timeout(Duration::from_secs(15), console.stop())
        .await
        .expect("a clean stop with an open stream");
    drop(events);
}

#[tokio::test]
async fn bad_input_gets_a_readable_page_never_a_500() {
    let console = Console::start().await;
    let client = console.operator().await;
    for (path, status, says) in [
        ("/jobs/not-a-uuid", StatusCode::BAD_REQUEST, "not a job id"),
        (
            "/jobs?state=sleeping",
            StatusCode::BAD_REQUEST,
            "unknown state",
        ),
        ("/jobs?queue=nope", StatusCode::BAD_REQUEST, "unknown queue"),
        ("/jobs?user=bob", StatusCode::BAD_REQUEST, "not a user id"),
        ("/jobs?cursor=garbage", StatusCode::BAD_REQUEST, "cursor"),
        (
            "/autoscaler?before=x",
            StatusCode::BAD_REQUEST,
            "decision id",
        ),
        (
            &format!("/jobs/{}", Uuid::now_v7()),
            StatusCode::NOT_FOUND,
            "no queue knows",
        ),
        ("/nowhere", StatusCode::NOT_FOUND, "no such page"),
    ] {
        let response = client
            .get(format!("{}{path}", console.base))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), status, "{path}");
        let body = response.text().await.expect("html");
        assert!(body.contains(says), "{path}: {body}");
    }
    let unknown_queue = client
        .post(format!("{}/queues/nope/pause", console.base))
        .form(&[("csrf", csrf(&console.page(&client, "/queues").await))])
        .send()
        .await
        .expect("POST");
    assert_eq!(unknown_queue.status(), StatusCode::NOT_FOUND);
    console.stop().await;
}

#[tokio::test]
async fn every_page_renders_for_an_operator_and_assets_are_cached() {
    let console = Console::start().await;
    let client = console.operator().await;
    for path in [
        "/",
        "/queues",
        "/jobs",
        "/jobs?state=queued&queue=goodwill",
        "/autoscaler",
        "/workers",
        "/schedules",
        "/webhooks",
        "/governance",
    ] {
        let html = console.page(&client, path).await;
        assert!(html.starts_with("<!DOCTYPE html>"), "{path}");
        assert!(html.contains("htmx-2.0.4.min.js"), "{path}");
    }
    let htmx = client
        .get(format!("{}/assets/htmx-2.0.4.min.js", console.base))
        .send()
        .await
        .expect("GET htmx");
    assert_eq!(htmx.status(), StatusCode::OK);
    assert!(
        htmx.headers()["cache-control"]
            .to_str()
            .is_ok_and(|c| c.contains("immutable")),
        "{:?}",
        htmx.headers()
    );
    assert!(htmx.text().await.expect("js").contains("htmx"));
    console.stop().await;
}

#[tokio::test]
async fn the_overview_lists_the_hours_decisions_without_javascript_each_with_its_reason_and_notes()
{
    let db = TestDatabase::create().await.expect("db");
    let (_, hold) = record_decision(&db.pool, 40.0, (1, 1), "WithinTolerance", &[]).await;
    let note = "scale-up policy allows 3 now; wanted 5";
    let (id, mark) = record_decision(&db.pool, 30.0, (1, 3), "ScaleUpLimit", &[note]).await;
    let console = Console::start_in(db, |_| {}).await;
    let client = console.operator().await;
    let overview = console.page(&client, "/").await;

    let entry = element(&overview, &mark, "</details>");
    for part in [
        "1 → 3 replicas",
        "<code>ScaleUpLimit</code>",
        note,
        "a backlog of 400 jobs",
    ] {
        assert!(entry.contains(part), "{part}: {entry}");
    }
    assert!(
        !overview.contains(&format!(r#"id="{hold}""#)),
        "a routine hold is no decision to list: {overview}"
    );
    // Its row in the decision log, on the page that starts with it.
    let log = format!("/autoscaler?before={}#decision-{id}", id + 1);
    assert!(entry.contains(&log.replace('&', "&amp;")), "{entry}");
    let page = console
        .page(&client, log.split('#').next().expect("a path"))
        .await;
    assert!(element(&page, &format!("decision-{id}"), "</tr>").contains(note));
    console.stop().await;
}

#[tokio::test]
async fn the_consoles_script_and_stylesheet_are_linked_and_served_at_paths_named_by_their_contents()
{
    let console = Console::start().await;
    let client = console.operator().await;
    let overview = console.page(&client, "/").await;
    for (ext, embedded) in [
        ("js", include_str!("../../controller/assets/console.js")),
        ("css", include_str!("../../controller/assets/console.css")),
    ] {
        let path = overview
            .split('"')
            .find(|p| p.starts_with("/assets/console-") && p.ends_with(&format!(".{ext}")))
            .unwrap_or_else(|| panic!("the page links console.{ext}: {overview}"));
        let hash = path
            .strip_prefix("/assets/console-")
            .and_then(|p| p.strip_suffix(&format!(".{ext}")))
            .expect("console-<hash>.<ext>");
        assert!(
            hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{path}: a content hash, not the crate version"
        );
        let served = console.get(&client, path).await;
        assert_eq!(served.status(), StatusCode::OK, "{path}");
        assert!(
            served.headers()["cache-control"]
                .to_str()
                .is_ok_and(|c| c.contains("immutable")),
            "{path}"
        );
        assert_eq!(served.text().await.expect("text"), embedded, "{path}");
        let old = format!("/assets/console-{}.{ext}", env!("CARGO_PKG_VERSION"));
        let gone = console.get(&client, &old).await.status();
        assert_eq!(gone, StatusCode::NOT_FOUND, "{old}");
    }
    console.stop().await;
}

#[tokio::test]
async fn a_dead_job_is_found_by_state_replayed_from_its_page_audited_and_then_done() {
    let (app, worker, console) = Console::with_pipeline().await;
    let council = app.token(Uuid::now_v7(), Role::Council);
    let created = app
        .applied(
            "/v1/proposals",
            &council,
            &json!({"title": "Repair the well", "description": "Before winter"}),
        )
        .await;
    let proposal = created["proposal_id"].as_str().expect("id").to_owned();
    // A vote on a draft proposal fails for good: a dead job.
    let vote = dead_vote(&app, &proposal).await;
    let job_id = vote["job_id"].as_str().expect("job id").to_owned();

    let client = console.operator().await;
    let dead = console.page(&client, "/jobs?state=dead&queue=votes").await;
    assert!(dead.contains(&format!("/jobs/{job_id}")), "{dead}");
    let page = console.page(&client, &format!("/jobs/{job_id}")).await;
    assert_eq!(text_of(&page, "job-state").as_deref(), Some("dead"));
    assert!(page.contains("DRAFT"), "the error is shown: {page}");
    assert!(page.contains("voter_id"), "the payload is shown: {page}");
    let timeline = element(&page, "timeline", "</ol>");
    assert!(timeline.contains(": dead"), "how it ended: {timeline}");
    // Its enqueue, then its one delivery, which failed for good, with the error.
    let attempt = [
        "enqueued",
        "attempt 1 started, failed at",
        "DRAFT",
        "; gave up",
    ];
    in_order(&timeline, &[&attempt[..], &[": dead"]].concat());

    // The fix, then the replay from the job's page.
    app.open(&council, &proposal).await;
    let replayed = client
        .post(format!("{}/jobs/{job_id}/replay", console.base))
        .form(&[("csrf", csrf(&page))])
        .send()
        .await
        .expect("POST replay");
    assert_eq!(replayed.status(), StatusCode::SEE_OTHER);
    let settled = app.settled(&vote).await;
    assert_eq!(settled["state"], "done");
    // The API says the same: when it was enqueued, and the failure before the replay.
    assert!(settled["enqueued_at"].is_string(), "{settled}");
    let history = settled["attempt_history"].as_array().expect("a history");
    assert_eq!(history.len(), 1, "{settled}");
    assert_eq!(history[0]["outcome"], "gave_up");
    assert_eq!(history[0]["attempt"], 1);
    assert!(
        history[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("DRAFT"))
    );
    let after = console.page(&client, &format!("/jobs/{job_id}")).await;
    assert!(after.contains("Replayed"), "{after}");
    let timeline = element(&after, "timeline", "</ol>");
    assert!(
        timeline.contains("replayed from the dead set") && timeline.contains(": done"),
        "replayed, then done: {timeline}"
    );
    // The attempt before the replay is still there, in its place.
    in_order(
        &timeline,
        &[&attempt[..], &["replayed from the dead set", ": done"]].concat(),
    );

    let actor: String = wait_for(
        Duration::from_secs(20),
        "the replay's audit row",
        || async {
            Ok(sqlx::query_scalar(
                "SELECT details->>'actor' FROM audit_log WHERE action_type = 'DEAD_JOB_REPLAYED'",
            )
            .fetch_optional(&app.db.pool)
            .await?)
        },
    )
    .await
    .expect("audited");
    assert!(actor.starts_with("user:"), "{actor}");

    finish(console, worker, app).await;
}

/// Debian's chromedriver (`chromium-driver`), or `CHROMEDRIVER`; `None` when absent.
fn chromedriver() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("CHROMEDRIVER") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromedriver"))
        .find(|candidate| candidate.is_file())
}

/// A headless Chromium driven over WebDriver by a chromedriver on loopback.
struct Browser {
    client: fantoccini::Client,
    _driver: tokio::process::Child,
}

impl Browser {
    /// `None` (the test is skipped) only when chromedriver is absent and `CI` is not set.
    async fn start() -> Option<Self> {
        let Some(driver) = chromedriver() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but chromedriver is missing: install chromium and chromium-driver"
            );
            eprintln!("skipped: no chromedriver (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = coin_tests::chaos::free_port().expect("a free port");
        let child = tokio::process::Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        wait_for(Duration::from_secs(20), "chromedriver", || {
            let status = format!("{url}/status");
            async move {
                Ok(reqwest::get(status)
                    .await
                    .ok()
                    .filter(|r| r.status().is_success()))
            }
        })
        .await
        .expect("chromedriver answers");
        let mut capabilities = serde_json::Map::new();
        let mut args = vec![
            "--headless=new",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-sandbox",
        ];
        args.push("--window-size=1280,900");
        let mut options = json!({ "args": args });
        if let Some(binary) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|b| std::path::Path::new(b).exists())
        {
            options["binary"] = json!(binary);
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        let client = fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(capabilities)
        .connect(&url)
        .await
        .expect("a Chromium session");
        Some(Self {
            client,
            _driver: child,
        })
    }

    /// Clicks the element `css`.
    async fn click(&self, css: &str) {
        let element = self.client.find(fantoccini::Locator::Css(css)).await;
        let element = element.unwrap_or_else(|e| panic!("{css}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Sends `key` (a WebDriver key code) to the focused element.
    async fn press(&self, key: &str) {
        let focused = self
            .client
            .active_element()
            .await
            .expect("a focused element");
        focused.send_keys(key).await.expect("the key is sent");
    }

    /// Presses Tab until the focused element matches `css`, at most `presses` times; whether
    /// it got there.
    async fn tab_to(&self, css: &str, presses: usize) -> bool {
        for _ in 0..presses {
            self.press("\u{e004}").await; // Tab
            let focused = self
                .client
                .execute(
                    "return document.activeElement.matches(arguments[0]);",
                    vec![json!(css)],
                )
                .await
                .expect("js");
            if focused == json!(true) {
                return true;
            }
        }
        false
    }

    /// Waits at most 10 s for an element `css`.
    async fn appears(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
    }

    async fn text(&self, css: &str) -> String {
        match self.client.find(fantoccini::Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the element `css` reads `expected`.
    async fn until_text(&self, css: &str, expected: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.text(css).await;
            if text == expected {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css} reads {text:?}, not {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test]
async fn in_chromium_an_operator_signs_in_and_sees_the_goodwill_depth_change_live_and_can_pause_it()
{
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, worker, console) = Console::with_pipeline().await;
    let service = app.token(Uuid::now_v7(), Role::Service);
    let actions = |n: usize| -> Vec<serde_json::Value> {
        let member = Uuid::now_v7();
        (0..n)
            .map(|_| {
                let mut action = coin_tests::goodwill_body(3);
                action["user_id"] = json!(member);
                action
            })
            .collect()
    };
    let b = &browser.client;
    sign_in_with(&browser, &console).await;
    browser.until_text("#goodwill-ready", "0").await;

    // A mark on the page's window: it survives only if the page is never reloaded.
    b.execute("window.coinMark = 'same page';", vec![])
        .await
        .expect("js");
    // The workers take no goodwill job while the queue is paused: 1,000 actions posted through
    // the API stay ready.
    console
        .queue
        .pause("goodwill", "test")
        .await
        .expect("pause");
    for _ in 0..4 {
        app.batch(&service, &actions(250)).await;
    }
    browser.until_text("#goodwill-ready", "1000").await;
    // The chart takes the loop's new ticks from the same stream, and draws the backlog.
    let drawn = wait_for(
        Duration::from_secs(20),
        "the chart's backlog at 1000",
        || async {
            let last = b
            .execute(
                "const c = window.coinChart; return c ? c.data[1][c.data[1].length - 1] : null;",
                vec![],
            )
            .await?;
            Ok((last == json!(1000)).then_some(()))
        },
    )
    .await;
    assert!(drawn.is_ok(), "the chart moved without a reload");
    assert!(
        b.find(fantoccini::Locator::Css("#chart .uplot canvas"))
            .await
            .is_ok(),
        "uPlot drew it"
    );

    // Live updates paused: the numbers hold still; resumed: they catch up.
    browser.click("#live-toggle").await;
    browser
        .until_text("#live-toggle", "Resume live updates")
        .await;
    app.batch(&service, &actions(5)).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(browser.text("#goodwill-ready").await, "1000", "paused");
    browser.click("#live-toggle").await;
    browser.until_text("#goodwill-ready", "1005").await;
    let mark = b
        .execute("return window.coinMark;", vec![])
        .await
        .expect("js");
    assert_eq!(mark, json!("same page"), "updated without a reload");

    // Resume the queue from the queues page, as an operator would (the form carries the CSRF
    // token): the workers take the jobs again and the backlog drains; then pause it again.
    b.goto(&format!("{}/queues", console.base))
        .await
        .expect("goto");
    browser
        .click(r#"form[action="/queues/goodwill/resume"] button"#)
        .await;
    browser
        .appears(r#"form[action="/queues/goodwill/pause"]"#)
        .await;
    wait_for(Duration::from_secs(60), "the backlog drained", || async {
        let depth = console.queue.depth("goodwill").await?;
        Ok((depth.ready == 0 && depth.done >= 1_005).then_some(()))
    })
    .await
    .expect("the workers took every job once resumed");
    browser
        .click(r#"form[action="/queues/goodwill/pause"] button"#)
        .await;
    browser
        .appears(r#"form[action="/queues/goodwill/resume"]"#)
        .await;
    assert!(console.queue.depth("goodwill").await.expect("depth").paused);
    assert!(browser.text(".flash").await.contains("Paused goodwill"));

    browser.client.close().await.expect("the session closes");
    finish(console, worker, app).await;
}

/// Whether the decision entry `id` is open, and its summary has the focus.
async fn opened_and_focused(b: &fantoccini::Client, id: &str) -> serde_json::Value {
    b.execute(
        "const e = document.getElementById(arguments[0]);
         return [e.open, document.activeElement === e.querySelector('summary')];",
        vec![json!(id)],
    )
    .await
    .expect("js")
}

#[tokio::test]
async fn in_chromium_a_decision_marker_opens_its_reason_and_notes_by_click_or_keyboard_and_new_ones_arrive_live()
 {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let db = TestDatabase::create().await.expect("db");
    let note = "scale-up policy allows 3 now; wanted 5";
    let (_, mark) = record_decision(&db.pool, 30.0, (1, 3), "ScaleUpLimit", &[note]).await;
    let console = Console::start_in(db, |_| {}).await;
    let b = &browser.client;
    sign_in_with(&browser, &console).await;
    let marker = format!(r##"a.chart-mark[href="#{mark}"]"##);
    browser.appears(&marker).await;
    assert_eq!(opened_and_focused(b, &mark).await, json!([false, false]));
    browser.click(&marker).await;
    assert_eq!(
        opened_and_focused(b, &mark).await,
        json!([true, true]),
        "the marker opened its entry and moved the focus there"
    );
    let entry = browser.text(&format!("details#{mark}")).await;
    assert!(
        entry.contains("ScaleUpLimit") && entry.contains(note) && entry.contains("1 → 3"),
        "{entry}"
    );
    let failures = serious_violations(b).await;
    assert!(failures.is_empty(), "serious or critical: {failures:#?}");

    // By keyboard alone: Tab to the marker, Enter.
    b.goto(&format!("{}/", console.base)).await.expect("goto");
    browser.appears(&marker).await;
    assert!(
        browser.tab_to(&marker, 80).await,
        "the marker is reachable with Tab"
    );
    browser.press("\u{e007}").await; // Enter
    assert_eq!(opened_and_focused(b, &mark).await, json!([true, true]));

    // A new decision: 1,000 ready jobs ask for more replicas; its marker and entry arrive by
    // the live stream, without a reload.
    b.execute("window.coinMark = 'same page';", vec![])
        .await
        .expect("js");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let listed = "return Array.from(document.querySelectorAll('#decisions details'), d => d.id);";
    let before = b.execute(listed, vec![]).await.expect("js");
    console
        .queue
        .enqueue_batch(&goodwill_jobs(1_000, &[Uuid::now_v7()]))
        .await
        .expect("enqueue");
    let before = &before;
    let fresh = wait_for(
        Duration::from_secs(20),
        "a new decision's entry",
        || async move {
            let now: Vec<String> = serde_json::from_value(b.execute(listed, vec![]).await?)?;
            Ok(now.into_iter().find(|id| {
                before
                    .as_array()
                    .is_none_or(|ids| !ids.contains(&json!(id)))
            }))
        },
    )
    .await
    .expect("listed live");
    browser
        .appears(&format!(r##"a.chart-mark[href="#{fresh}"]"##))
        .await;
    let mark_kept = b
        .execute("return window.coinMark;", vec![])
        .await
        .expect("js");
    assert_eq!(mark_kept, json!("same page"), "without a reload");

    browser.client.close().await.expect("the session closes");
    console.stop().await;
}

#[tokio::test]
async fn a_jobs_page_shows_its_payload_with_secrets_redacted() {
    let console = Console::start().await;
    let client = console.operator().await;
    let id = console
        .queue
        .audit(coin_shared::operations::AuditEntry {
            action: "QUEUE_PAUSED".into(),
            actor_user_id: None,
            actor: "cli:test".into(),
            subject_type: "queue".into(),
            subject: "goodwill".into(),
            details: json!({"note": "kept", "nested": {"api_key": "sk_live_do_not_show"}}),
            at: chrono::Utc::now(),
        })
        .await
        .expect("enqueue");
    let page = console.page(&client, &format!("/jobs/{id}")).await;
    assert_eq!(text_of(&page, "job-state").as_deref(), Some("queued"));
    assert!(
        page.contains("[redacted]") && page.contains("kept"),
        "{page}"
    );
    assert!(!page.contains("sk_live_do_not_show"), "{page}");
    assert!(
        page.contains(&format!("/jobs/{id}/cancel")),
        "a queued job can be cancelled"
    );
    console.stop().await;
}

#[tokio::test]
async fn the_schedules_page_shows_each_schedules_expression_last_outcome_and_next_run() {
    let console = Console::start_with(|s| s.schedules.distribution_cron = String::new()).await;
    let pool = &console.db.as_ref().expect("own database").pool;
    sqlx::query(
        "INSERT INTO schedule_runs (schedule, tick, worker_id, finished_at, outcome) VALUES
           ('auto_close', now() - interval '2 minutes', 'worker-a', now(), '{\"closed\": 1}'),
           ('auto_close', now() - interval '1 minute', 'worker-b', now(), '{\"closed\": 3}'),
           ('reconciliation', now() - interval '1 minute', 'worker-a', now(),
            '{\"error\": \"balance mismatch\"}')",
    )
    .execute(pool)
    .await
    .expect("seed runs");
    let client = console.operator().await;
    let html = console.page(&client, "/schedules").await;
    let row = |name: &str| element(&html, &format!("schedule-{name}"), "</tr>");
    let auto_close = row("auto-close");
    assert!(
        auto_close.contains("worker-b"),
        "the latest tick: {auto_close}"
    );
    assert!(
        auto_close.contains("closed&quot;:3"),
        "its outcome: {auto_close}"
    );
    assert!(
        auto_close.contains("0 * * * * *"),
        "its expression: {auto_close}"
    );
    assert!(auto_close.contains(" UTC"), "a next run: {auto_close}");
    let reconciliation = row("reconciliation");
    assert!(
        reconciliation.contains("failed: balance mismatch"),
        "{reconciliation}"
    );
    assert!(row("retention").contains("not run yet"));
    assert!(row("relay").contains("waiting: 0 webhook deliveries"));
    let distribution = row("distribution");
    assert!(
        distribution.contains("off (") && distribution.contains("DISTRIBUTION_CRON"),
        "{distribution}"
    );
    console.stop().await;
}

#[tokio::test]
async fn the_governance_page_shows_proposals_by_status_with_their_tally_and_the_council() {
    let (app, worker, console) = Console::with_pipeline().await;
    let council = app.token(Uuid::now_v7(), Role::Council);
    let operator = app.token(Uuid::now_v7(), Role::Operator);
    let active = app
        .proposal(&council, "Repair the well", "Before winter")
        .await;
    app.open(&council, &active).await;
    let draft = app
        .proposal(&council, "Plant an orchard", "In spring")
        .await;
    let member = Uuid::now_v7();
    // A member exists once its first action is processed.
    app.applied(
        "/v1/goodwill-actions",
        &app.token(member, Role::Member),
        &coin_tests::goodwill_body(5),
    )
    .await;
    app.applied(
        &format!("/v1/proposals/{active}/votes"),
        &app.token(member, Role::Member),
        &json!({"choice": "FOR"}),
    )
    .await;
    let membership = app
        .applied(
            "/v1/council-members",
            &operator,
            &json!({"user_id": member, "role": "CHAIR"}),
        )
        .await;
    assert!(membership["member_id"].is_string(), "{membership}");

    let client = console.operator().await;
    let html = console.page(&client, "/governance").await;
    let section = |id: &str| element(&html, id, "</section>");
    let active_section = section("proposals-active");
    assert!(
        active_section.contains("Repair the well"),
        "{active_section}"
    );
    assert!(
        active_section.contains(r#"hx-trigger="every 10s""#),
        "the active tallies refresh themselves: {active_section}"
    );
    let at = active_section
        .find(&format!("proposal-{active}"))
        .expect("its row");
    let cells: Vec<&str> = active_section[at..]
        .split(r#"<td class="num">"#)
        .skip(1)
        .take(3)
        .map(|c| c.split('<').next().unwrap_or_default())
        .collect();
    assert_eq!(cells, ["1", "0", "0"], "one FOR vote, in weights");
    assert!(section("proposals-draft").contains("Plant an orchard"));
    assert!(!active_section.contains(&draft));
    assert!(
        html.contains(&member.to_string()) && html.contains("CHAIR"),
        "the council"
    );
    finish(console, worker, app).await;
}

#[tokio::test]
async fn the_workers_page_lists_a_live_worker_process_until_it_stops() {
    let app = spawn_app().await.expect("app");
    let console = Console::start_on(&app.db.settings(), &app.namespace, &app.jwt_secret).await;
    let client = console.operator().await;
    let host = format!("host-{}", Uuid::new_v4().simple());
    let mut worker = app
        .worker_process(&[("HOSTNAME", host.as_str()), ("WORKER_CONCURRENCY", "7")])
        .expect("coin-worker starts");
    let row = wait_for(
        Duration::from_secs(60),
        "the worker on /workers",
        || async {
            let html = console.page(&client, "/workers").await;
            // Announced, and heartbeating on its queues.
            let row = html
                .split("<tr ")
                .find(|r| r.contains(&host))
                .map(str::to_owned);
            Ok(row.filter(|r| r.contains(" ago")))
        },
    )
    .await
    .expect("listed");
    assert!(row.contains(&host), "its host: {row}");
    assert!(
        row.contains("votes 0/7"),
        "held / concurrency per queue: {row}"
    );
    assert!(
        row.contains(&format!("v{}", env!("CARGO_PKG_VERSION"))),
        "{row}"
    );
    assert!(
        row.contains(&worker.id().expect("pid").to_string()),
        "its pid: {row}"
    );

    let stopped = coin_tests::chaos::terminate(&mut worker, Duration::from_secs(30)).await;
    assert!(stopped.success(), "{stopped:?}");
    let html = console.page(&client, "/workers").await;
    assert!(!html.contains(&host), "a stopped worker is gone: {html}");
    console.stop().await;
    app.teardown().await.expect("teardown");
}

/// axe-core, vendored for the accessibility check (tests/vendor/axe-core-4.14.1).
const AXE: &str = include_str!("../vendor/axe-core-4.14.1/axe.min.js");

/// Runs axe-core on the page the browser shows; the serious and critical violations, each as
/// `rule (impact): help — nodes`.
async fn serious_violations(b: &fantoccini::Client) -> Vec<String> {
    b.execute(AXE, vec![]).await.expect("axe loads");
    let found = b
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { resultTypes: ["violations"] })
                 .then(r => done(r.violations
                   .filter(v => v.impact === "serious" || v.impact === "critical")
                   .map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map(n => n.target.join(" ")).join(", ")}`)))
                 .catch(e => done([`axe failed: ${e}`]));"#,
            vec![],
        )
        .await
        .expect("axe runs");
    serde_json::from_value(found).expect("a list of violations")
}

/// Takes a screenshot of the page; writes it as `<name>.png` into `CONSOLE_SCREENSHOTS` when
/// that names a directory (scripts/console-screenshots.sh sets it to docs/console).
async fn screenshot(b: &fantoccini::Client, name: &str) {
    let png = b.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
    if let Some(dir) = std::env::var_os("CONSOLE_SCREENSHOTS") {
        let path = std::path::Path::new(&dir).join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// Signs the browser in on `console` through the form.
async fn sign_in_with(browser: &Browser, console: &Console) {
    let b = &browser.client;
    b.goto(&format!("{}/login", console.base))
        .await
        .expect("goto");
    b.find(fantoccini::Locator::Css("#token"))
        .await
        .expect("the token field")
        .send_keys(&console.token(Role::Operator))
        .await
        .expect("typed");
    browser.click("button[type=submit]").await;
    browser.appears("nav").await;
}

#[tokio::test]
async fn in_chromium_every_page_has_no_serious_accessibility_violation_and_actions_work_by_keyboard()
 {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await.expect("app");
    let worker = app.spawn_worker(2).await.expect("worker");
    // A decision recorded before the controller starts: the overview's chart has a marker, and
    // its entry is checked with the rest of the page.
    let note = "scale-up policy allows 3 now; wanted 5";
    record_decision(&app.db.pool, 600.0, (1, 3), "ScaleUpLimit", &[note]).await;
    let console = Console::start_on(&app.db.settings(), &app.namespace, &app.jwt_secret).await;
    let (council, proposal) = draft_proposal(&app).await;
    app.open(&council, &proposal).await;
    let members: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let actions: Vec<serde_json::Value> = (0..50)
        .map(|i| {
            let mut action = coin_tests::goodwill_body(3);
            action["user_id"] = json!(members[i % members.len()]);
            action
        })
        .collect();
    app.batch(&app.token(Uuid::now_v7(), Role::Service), &actions)
        .await;
    let b = &browser.client;

    b.goto(&format!("{}/login", console.base))
        .await
        .expect("goto");
    let mut failures = Vec::new();
    failures.extend(serious_violations(b).await);
    screenshot(b, "login").await;
    sign_in_with(&browser, &console).await;
    for (path, name) in [
        ("/", "overview"),
        ("/queues", "queues"),
        ("/jobs?state=queued", "jobs"),
        ("/workers", "workers"),
        ("/autoscaler", "autoscaler"),
        ("/schedules", "schedules"),
        ("/webhooks", "webhooks"),
        ("/governance", "governance"),
    ] {
        b.goto(&format!("{}{path}", console.base))
            .await
            .expect("goto");
        browser.appears("main h1").await;
        if path == "/" {
            browser.appears("a.chart-mark").await;
        }
        failures.extend(
            serious_violations(b)
                .await
                .into_iter()
                .map(|v| format!("{path}: {v}")),
        );
        screenshot(b, name).await;
    }
    assert!(failures.is_empty(), "serious or critical: {failures:#?}");
    // The check itself finds what it should: an image without a text alternative is critical.
    b.execute(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/nope.png\">');",
        vec![],
    )
    .await
    .expect("js");
    let planted = serious_violations(b).await;
    assert!(
        planted.iter().any(|v| v.starts_with("image-alt")),
        "{planted:?}"
    );

    // By keyboard alone: Tab to the goodwill queue's pause button, Enter.
    b.goto(&format!("{}/queues", console.base))
        .await
        .expect("goto");
    let pause = r#"form[action="/queues/goodwill/pause"] button"#;
    assert!(
        browser.tab_to(pause, 60).await,
        "the pause button is reachable with Tab"
    );
    browser.press("\u{e007}").await; // Enter
    wait_for(Duration::from_secs(10), "paused by keyboard", || async {
        let depth = console.queue.depth("goodwill").await?;
        Ok(depth.paused.then_some(()))
    })
    .await
    .expect("the queue is paused");

    browser.client.close().await.expect("the session closes");
    finish(console, worker, app).await;
}

#[tokio::test]
async fn the_autoscalers_what_if_decides_the_last_snapshot_again_with_the_operators_values() {
    let console = Console::start().await;
    let client = console.operator().await;
    let plain = console.page(&client, "/autoscaler").await;
    assert!(plain.contains(r#"id="what-if""#), "the form is there");
    assert!(!plain.contains("what-if-answer"), "no answer until asked");

    // Bounds decide it whatever the backlog: min = max = 3 gives 3.
    let answer = wait_for(Duration::from_secs(30), "a what-if answer", || async {
        let html = console.page(&client, "/autoscaler?min=3&max=3").await;
        Ok(text_of(&html, "what-if-replicas"))
    })
    .await
    .expect("the loop has a snapshot");
    assert_eq!(answer, "3");
    let bounded = console.page(&client, "/autoscaler?min=3&max=3").await;
    assert!(
        bounded.contains(r#"value="3""#),
        "the form keeps what was asked"
    );

    for (query, says) in [
        ("min=abc", "min must be a whole number of replicas"),
        ("min=5&max=2", "min (5) must not exceed max (2)"),
        (
            "target_backlog=-1",
            "target backlog must be a positive number",
        ),
    ] {
        let html = console.page(&client, &format!("/autoscaler?{query}")).await;
        let refusal = element(&html, "what-if-answer", "</p>");
        assert!(refusal.contains(says), "{query}: {refusal}");
    }
    console.stop().await;
}

#[tokio::test]
async fn with_several_worker_pools_the_autoscaler_shows_each_pools_latest_decision_and_the_pool_of_each_row()
 {
    let console = Console::start_with(|s| {
        s.worker_pools = Some(
            "goodwill=goodwill@0-3;rest=*@1-2"
                .parse()
                .expect("valid pools"),
        );
    })
    .await;
    let client = console.operator().await;
    let html = wait_for(Duration::from_secs(30), "both pools decided", || async {
        let html = console.page(&client, "/autoscaler").await;
        Ok(
            (html.contains(r#"id="pool-goodwill""#) && html.contains(r#"id="pool-rest""#))
                .then_some(html),
        )
    })
    .await
    .expect("the loop ticks");
    let goodwill = element(&html, "pool-goodwill", "</tr>");
    assert!(goodwill.contains("0 to 3"), "{goodwill}");
    let rest = element(&html, "pool-rest", "</tr>");
    assert!(rest.contains("votes, governance"), "{rest}");
    let log = &html[html.find("Decision log").expect("the log")..];
    in_order(log, &[">When<", ">Pool<", ">Current<"]);
    assert!(
        log.contains("<td>goodwill</td>") && log.contains("<td>rest</td>"),
        "{log}"
    );
    console.stop().await;
}

#[tokio::test]
async fn the_webhooks_page_lists_endpoints_with_their_deliveries_and_disables_one_with_a_reason() {
    let (app, worker, console) = Console::with_pipeline().await;
    let operator = app.token(Uuid::now_v7(), Role::Operator);
    let registered = app
        .applied(
            "/v1/webhook-endpoints",
            &operator,
            &json!({"url": "http://127.0.0.1:9/hook", "event_types": ["goodwill.recorded"]}),
        )
        .await;
    let endpoint = registered["endpoint_id"].as_str().expect("id").to_owned();
    let client = console.operator().await;
    let page = console.page(&client, "/webhooks").await;
    let row = element(&page, &format!("endpoint-{endpoint}"), "</tr>");
    assert!(
        row.contains("http://127.0.0.1:9/hook") && row.contains("enabled"),
        "{row}"
    );

    // No reason: refused, readably, and nothing changes.
    let action = format!("{}/webhooks/{endpoint}/disable", console.base);
    let without = client
        .post(&action)
        .form(&[("csrf", csrf(&page)), ("reason", "  ".into())])
        .send()
        .await
        .expect("POST");
    assert_eq!(without.status(), StatusCode::BAD_REQUEST);
    let disabled = client
        .post(&action)
        .form(&[("csrf", csrf(&page)), ("reason", "receiver moved".into())])
        .send()
        .await
        .expect("POST");
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    let after = wait_for(Duration::from_secs(20), "the endpoint disabled", || async {
        let html = console.page(&client, "/webhooks").await;
        let row = element(&html, &format!("endpoint-{endpoint}"), "</tr>");
        Ok(row.contains("disabled").then_some(row))
    })
    .await
    .expect("disabled by the worker");
    assert!(after.contains("receiver moved"), "{after}");
    assert!(after.contains("/enable"), "now an enable button: {after}");
    let by: Option<Uuid> = sqlx::query_scalar(
        "SELECT actor_user_id FROM audit_log WHERE action_type = 'WEBHOOK_ENDPOINT_DISABLED'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("one audit row");
    assert!(by.is_some(), "the operator is named");
    finish(console, worker, app).await;
}

#[tokio::test]
async fn a_bulk_action_by_filter_shows_its_dry_run_count_first_then_runs_once_confirmed() {
    let (app, worker, console) = Console::with_pipeline().await;
    let (_, proposal) = draft_proposal(&app).await;
    // Votes on a draft proposal fail for good: three dead jobs.
    for _ in 0..3 {
        dead_vote(&app, &proposal).await;
    }
    let client = console.operator().await;
    let list = console.page(&client, "/jobs?state=dead&queue=votes").await;
    assert!(
        list.contains(r#"action="/jobs/bulk""#),
        "the bulk form is offered"
    );
    let form = |step: &str, action: &str| {
        vec![
            ("csrf", csrf(&list)),
            ("state", "dead".to_owned()),
            ("queue", "votes".to_owned()),
            ("action", action.to_owned()),
            ("step", step.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = format!("{}/jobs/bulk", console.base);
        async move { client.post(url).form(&fields).send().await.expect("POST") }
    };

    let counted = post(form("count", "delete")).await;
    assert_eq!(counted.status(), StatusCode::OK);
    let counted = counted.text().await.expect("html");
    let count = element(&counted, "bulk-count", "</p>");
    assert!(count.contains("<strong>3</strong>"), "{count}");
    assert!(
        counted.contains(r#"value="confirm""#),
        "then a confirm button"
    );
    let dead = JobFilter {
        queue: Some("votes".into()),
        state: SearchState::Dead,
        kind: None,
        user_id: None,
    };
    assert_eq!(
        console.queue.count_matching(&dead).await.expect("count"),
        3,
        "a dry run"
    );

    let refused = post(form("count", "replay")).await;
    assert_eq!(
        refused.status(),
        StatusCode::OK,
        "replay applies to dead jobs"
    );
    let wrong = post(vec![
        ("csrf", csrf(&list)),
        ("state", "queued".to_owned()),
        ("action", "delete".to_owned()),
        ("step", "count".to_owned()),
    ])
    .await;
    assert_eq!(
        wrong.status(),
        StatusCode::BAD_REQUEST,
        "delete does not apply to queued jobs"
    );

    let confirmed = post(form("confirm", "delete")).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let location = confirmed.headers()["location"]
        .to_str()
        .expect("a location")
        .to_owned();
    assert!(location.starts_with("/jobs/"), "{location}");
    wait_for(Duration::from_secs(30), "the bulk delete done", || async {
        Ok((console.queue.count_matching(&dead).await? == 0).then_some(()))
    })
    .await
    .expect("deleted");
    let page = console.page(&client, &location).await;
    assert!(
        page.contains("<td>operations</td>"),
        "the operations job: {page}"
    );
    assert!(
        page.contains("&quot;applied&quot;: 3"),
        "its progress: {page}"
    );
    finish(console, worker, app).await;
}

#[tokio::test]
async fn a_dead_job_deleted_from_its_page_is_gone_and_the_delete_is_audited() {
    let (app, worker, console) = Console::with_pipeline().await;
    let (_, proposal) = draft_proposal(&app).await;
    let vote = dead_vote(&app, &proposal).await;
    let job_id = vote["job_id"].as_str().expect("job id").to_owned();
    let client = console.operator().await;
    let page = console.page(&client, &format!("/jobs/{job_id}")).await;
    assert!(
        page.contains(&format!("/jobs/{job_id}/delete")),
        "a delete button"
    );
    let deleted = client
        .post(format!("{}/jobs/{job_id}/delete", console.base))
        .form(&[("csrf", csrf(&page))])
        .send()
        .await
        .expect("POST delete");
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        deleted.headers()["location"],
        "/jobs?state=dead&queue=votes",
        "back to the dead jobs of its queue"
    );
    assert_eq!(
        app.get(&format!("/v1/jobs/{job_id}")).await.status(),
        404,
        "gone"
    );
    wait_for(Duration::from_secs(20), "the delete audited", || async {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action_type = 'JOB_DELETED'")
                .fetch_one(&app.db.pool)
                .await?;
        Ok((n == 1).then_some(()))
    })
    .await
    .expect("one audit row");
    finish(console, worker, app).await;
}
