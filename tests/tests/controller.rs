//! The controller against real Postgres and Redis: it records every tick, exports its metrics and
//! serves the read-only Observability Node in the original README's shapes.

use std::{process::Stdio, time::Duration};

use coin_controller::{app::ControllerApp, record};
use coin_shared::jobs::DistributionChunk;
use coin_tests::{TestDatabase, wait_for};
use serde_json::Value;
use sqlx::PgPool;
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

/// A controller in this process on a fresh database of its own.
struct RunningController {
    db: TestDatabase,
    address: String,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl RunningController {
    /// Creates a database and starts a controller on it and a new namespace, with settings
    /// parsed from `args` as the binary parses its command line (after the harness's fast,
    /// harmless defaults).
    async fn start(args: &[&str]) -> Self {
        let db = TestDatabase::create().await.expect("db");
        Self::start_on(db, &namespace(), args).await
    }

    /// Like [`Self::start`], on `db` and the Redis `namespace` given.
    async fn start_on(db: TestDatabase, namespace: &str, args: &[&str]) -> Self {
        let settings = coin_tests::controller_settings(&db.settings(), namespace, args);
        let app = ControllerApp::build(&settings).await.expect("controller");
        let address = format!("http://{}", app.local_addr().expect("addr"));
        let (stop, handle) = coin_tests::run_controller(app);
        Self {
            db,
            address,
            stop,
            handle,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.address))
            .await
            .expect("the node answers")
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        response.json().await.expect("json")
    }

    /// Stops the controller, asserting a clean exit, and hands back its database.
    async fn stop(self) -> TestDatabase {
        let _ = self.stop.send(());
        self.handle.await.expect("join").expect("clean stop");
        self.db
    }

    /// Stops the controller and drops its database.
    async fn finish(self) {
        self.stop().await.drop_database().await.expect("drop");
    }
}

async fn recorded_ticks(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM controller_actions")
            .fetch_one(pool)
            .await?,
    )
}

async fn until_ticks(pool: &PgPool, at_least: i64) {
    wait_for(Duration::from_secs(15), "controller ticks", || async {
        Ok((recorded_ticks(pool).await? >= at_least).then_some(()))
    })
    .await
    .expect("the controller ticks");
}

fn namespace() -> String {
    format!("test-{}", Uuid::new_v4().simple())
}

#[tokio::test]
async fn the_controller_serves_health_with_its_dependencies_and_metrics() {
    let controller = RunningController::start(&[]).await;

    let body = controller.get_json("/health").await;
    assert_eq!(body["service"], "Global Observability Node");
    assert_eq!(body["binary"], "coin-controller");
    assert_eq!(body["status"], "ok");
    assert!(body["uptime_seconds"].is_f64());
    assert!(body["version"].is_string() && body["timestamp"].is_string());
    assert_eq!(
        (&body["postgres"], &body["redis"]),
        (&"up".into(), &"up".into())
    );
    let live = controller.get_json("/livez").await;
    assert_eq!(
        (live["status"].as_str(), live["service"].as_str()),
        (Some("alive"), Some("coin-controller"))
    );
    let metrics = controller.get("/metrics").await;
    assert_eq!(metrics.status().as_u16(), 200);

    controller.finish().await;
}

#[tokio::test]
async fn every_tick_records_one_controller_action_with_its_reason() {
    let controller = RunningController::start(&["--min-workers", "2"]).await;
    until_ticks(&controller.db.pool, 3).await;
    let db = controller.stop().await;

    let (reason, current, desired, scaler, dry_run, observed, actions): (String, Option<i32>, Option<i32>, String, bool, Value, Value) =
        sqlx::query_as(
            r#"SELECT reason, current_replicas, desired_replicas, scaler, dry_run, observed, actions_taken
               FROM controller_actions ORDER BY id LIMIT 1"#,
        )
        .fetch_one(&db.pool)
        .await
        .expect("a row");
    assert_eq!(scaler, "none");
    assert!(!dry_run);
    // The none scaler starts at MIN_WORKERS and the empty queues keep it there.
    assert_eq!((current, desired), (Some(2), Some(2)));
    assert!(
        [
            "WithinTolerance",
            "ScaleDownStabilized",
            "TooFewReplicas",
            "DesiredWithinRange"
        ]
        .contains(&reason.as_str()),
        "{reason}"
    );
    assert_eq!(observed["queues"]["by_queue"]["goodwill"]["backlog"], 0);
    assert!(observed["host"]["cpu_ratio"].is_number(), "{observed}");
    assert!(
        observed["database"]["max_connections"].is_number(),
        "{observed}"
    );
    assert!(
        actions.as_array().is_some_and(|a| !a.is_empty()),
        "{actions}"
    );
    db.drop_database().await.expect("drop");
}

#[tokio::test]
async fn the_observability_node_answers_in_the_original_json_shapes() {
    let controller = RunningController::start(&[]).await;
    until_ticks(&controller.db.pool, 2).await;

    let state = controller.get_json("/api/system_state").await;
    let metrics = &state["system_metrics"];
    assert!(metrics["cpu_percent"].is_number(), "{state}");
    for key in ["total_mb", "available_mb", "used_mb", "percent"] {
        assert!(metrics["memory"][key].is_number(), "memory.{key}: {state}");
    }
    for key in ["total_gb", "used_gb", "free_gb", "percent"] {
        assert!(metrics["disk"][key].is_number(), "disk.{key}: {state}");
    }
    for key in ["1min", "5min", "15min"] {
        assert!(
            metrics["load_averages"][key].is_number(),
            "load.{key}: {state}"
        );
    }
    let activity = &state["database_activity"];
    for key in [
        "active_connections",
        "transactions_committed",
        "cache_hit_ratio",
    ] {
        assert!(
            activity[key].is_number(),
            "database_activity.{key}: {state}"
        );
    }
    assert_eq!(state["redis_queue_depth"], 0);
    assert_eq!(state["kubernetes_enabled"], false);
    assert!(state["last_controller_evaluation"].is_string(), "{state}");
    assert!(
        state["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with("+00:00")),
        "{state}"
    );

    let decisions = controller.get_json("/api/controller_decisions").await;
    assert_eq!(decisions["limit"], 10);
    let listed = decisions["decisions"].as_array().expect("decisions");
    assert_eq!(decisions["count"].as_u64(), Some(listed.len() as u64));
    assert!(!listed.is_empty());
    for key in ["id", "timestamp", "recommendations", "actions_taken"] {
        assert!(!listed[0][key].is_null(), "{key}: {decisions}");
    }

    let governance = controller.get_json("/api/governance_state").await;
    assert_eq!(governance["proposal_summary"]["total"], 0);
    for status in ["draft", "active", "closed", "rejected"] {
        assert_eq!(
            governance["proposal_summary"]["by_status"][status], 0,
            "{governance}"
        );
    }
    assert_eq!(governance["vote_summary"]["total_votes"], 0);
    assert_eq!(governance["council_summary"]["active_members"], 0);
    assert_eq!(governance["recent_proposals"], Value::Array(vec![]));

    sqlx::query(
        "INSERT INTO audit_log (action_type, subject_type, details)
         VALUES ('GOODWILL_RECORDED', 'goodwill_action',
                 '{\"action_type\": \"volunteering\", \"user_id\": \"someone\", \"description\": \"private\"}')",
    )
    .execute(&controller.db.pool)
    .await
    .expect("audit row");
    let audit = controller.get_json("/api/audit_summary?limit=5").await;
    assert_eq!(
        (audit["count"].as_u64(), audit["limit"].as_u64()),
        (Some(1), Some(5))
    );
    let entry = &audit["audit_entries"][0];
    assert_eq!(entry["action_type"], "GOODWILL_RECORDED");
    assert!(entry["id"].is_string() && entry["timestamp"].is_string());
    assert_eq!(
        entry["details"],
        serde_json::json!({"action_type": "volunteering"})
    );

    controller.finish().await;
}

#[tokio::test]
async fn a_bad_limit_is_a_400_json_error_and_a_large_one_is_capped_at_100() {
    let controller = RunningController::start(&[]).await;

    for path in [
        "/api/controller_decisions?limit=abc",
        "/api/audit_summary?limit=0",
        "/api/audit_summary?limit=-1",
    ] {
        let response = controller.get(path).await;
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let body: Value = response.json().await.expect("json error");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains("limit")),
            "{body}"
        );
    }
    let capped = controller
        .get_json("/api/controller_decisions?limit=1000")
        .await;
    assert_eq!(capped["limit"], 100);

    controller.finish().await;
}

#[tokio::test]
async fn any_method_but_get_is_refused_with_405_saying_the_node_is_read_only() {
    let controller = RunningController::start(&[]).await;
    let client = reqwest::Client::new();

    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for path in [
            "/api/system_state",
            "/api/controller_decisions",
            "/health",
            "/anything",
        ] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let response = client
                .request(method.clone(), format!("{}{path}", controller.address))
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status().as_u16(), 405, "{method} {path}");
            let body: Value = response.json().await.expect("json error");
            assert!(
                body["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("read-only")),
                "{body}"
            );
        }
    }
    controller.finish().await;
}

#[tokio::test]
async fn metrics_report_zero_for_drained_queues_and_pass_promtool() {
    let controller = RunningController::start(&[]).await;
    until_ticks(&controller.db.pool, 2).await;

    let text = controller.get("/metrics").await.text().await.expect("text");
    for expected in [
        "coin_queue_backlog_jobs{queue=\"goodwill\"} 0",
        "coin_queue_backlog_jobs{queue=\"votes\"} 0",
        "coin_queue_inflight_jobs{queue=\"goodwill\"} 0",
        "coin_queue_dead_jobs{queue=\"governance\"} 0",
        "coin_worker_replicas{kind=\"current\",pool=\"default\"}",
        "coin_worker_replicas{kind=\"desired\",pool=\"default\"}",
        "coin_controller_decisions_total{action=\"hold\"",
        "coin_host_cpu_usage_ratio",
        "coin_host_memory_usage_ratio",
        "coin_host_disk_usage_ratio",
        "coin_controller_tick_duration_seconds_bucket",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }

    if let Some(problems) = promtool_check(&text).await {
        panic!("promtool check metrics failed:\n{problems}\n{text}");
    }
    controller.finish().await;
}

/// Runs `promtool check metrics` when promtool is installed; `Some(output)` on failure.
async fn promtool_check(text: &str) -> Option<String> {
    use tokio::io::AsyncWriteExt;
    let Ok(mut child) = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("promtool is not installed: skipping the lint of /metrics");
        return None;
    };
    let mut stdin = child.stdin.take()?;
    stdin.write_all(text.as_bytes()).await.ok()?;
    drop(stdin);
    let output = child.wait_with_output().await.ok()?;
    (!output.status.success()).then(|| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test]
async fn retention_prunes_controller_actions_older_than_the_retention_days() {
    let db = TestDatabase::create().await.expect("db");
    sqlx::query(
        r#"INSERT INTO controller_actions ("timestamp", reason)
           VALUES (now() - interval '40 days', 'old'), (now() - interval '2 days', 'recent')"#,
    )
    .execute(&db.pool)
    .await
    .expect("rows");

    let deleted = record::prune(&db.pool, chrono::Utc::now(), 30)
        .await
        .expect("prune");

    let left: Vec<String> = sqlx::query_scalar("SELECT reason FROM controller_actions")
        .fetch_all(&db.pool)
        .await
        .expect("rows");
    assert_eq!((deleted, left), (1, vec!["recent".to_owned()]));
    db.drop_database().await.expect("drop");
}

#[tokio::test]
async fn the_controller_binary_never_reveals_the_database_password_or_jwt_secret() {
    let db = TestDatabase::create().await.expect("db");
    let password = format!("pw{}", Uuid::new_v4().simple());
    let role = format!("coin_secret_{}", Uuid::new_v4().simple());
    sqlx::query(&format!(
        "CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'"
    ))
    .execute(&db.pool)
    .await
    .expect("role");
    let (scheme, rest) = db.url.split_once("://").expect("a URL");
    let location = rest.split_once('@').map_or(rest, |(_, location)| location);
    let url = format!("{scheme}://{role}:{password}@{location}");
    let jwt_secret = format!("jwt{}", Uuid::new_v4().simple());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);

    let mut child =
        tokio::process::Command::new(coin_tests::chaos::binary("coin-controller").expect("binary"))
            .env("DATABASE_URL", &url)
            .env("JWT_SECRET", &jwt_secret)
            .env("REDIS_URL", coin_tests::redis_url())
            .env("QUEUE_NAMESPACE", namespace())
            .env("OBSERVABILITY_HOST", "127.0.0.1")
            .env("OBSERVABILITY_PORT", port.to_string())
            .env("CONSOLE_HOST", "127.0.0.1")
            .env("CONSOLE_PORT", "0")
            .env("SCALER", "none")
            .env("CONTROLLER_INTERVAL", "0.2")
            .env("RUN_MIGRATIONS", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("coin-controller starts");
    let base = format!("http://127.0.0.1:{port}");
    wait_for(
        Duration::from_secs(20),
        "the controller binary to serve",
        || {
            let base = base.clone();
            async move {
                Ok(reqwest::get(format!("{base}/health"))
                    .await
                    .ok()
                    .filter(|r| r.status().is_success()))
            }
        },
    )
    .await
    .expect("health");
    until_ticks(&db.pool, 2).await;

    let client = reqwest::Client::new();
    for path in [
        "/health",
        "/metrics",
        "/api/system_state",
        "/api/controller_decisions?limit=100",
        "/api/governance_state",
        "/api/audit_summary?limit=100",
        "/api/controller_decisions?limit=bad",
        "/nowhere",
    ] {
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let body = client
                .request(method.clone(), format!("{base}{path}"))
                .send()
                .await
                .expect("answer")
                .text()
                .await
                .expect("body");
            assert!(
                !body.contains(&password),
                "{method} {path} reveals the database password"
            );
            assert!(
                !body.contains(&jwt_secret),
                "{method} {path} reveals JWT_SECRET"
            );
        }
    }

    let _ = child.start_kill();
    let _ = child.wait().await;
    db.drop_database().await.expect("drop");
    let _ = sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
        .execute(&db_admin().await)
        .await;
}

async fn db_admin() -> PgPool {
    PgPool::connect(&coin_tests::admin_database_url())
        .await
        .expect("admin pool")
}

#[tokio::test]
async fn a_paused_queue_backlog_is_measured_with_its_latency_and_not_scaled_for() {
    let db = TestDatabase::create().await.expect("db");
    let ns = namespace();
    let queue = coin_shared::queue::JobQueue::new(&coin_tests::redis_settings(&ns)).expect("queue");
    // The distribution queue, so the gauges other tests of this process read (goodwill, votes,
    // governance; the metrics recorder is per process) stay as they expect.
    assert!(queue.pause("distribution", "tester").await.expect("pause"));
    let period_id = Uuid::now_v7();
    let chunks: Vec<DistributionChunk> = (0..2_000)
        .map(|_| DistributionChunk {
            chunk_id: Uuid::now_v7(),
            period_id,
        })
        .collect();
    queue.enqueue_batch(&chunks).await.expect("enqueue");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // A loaded machine (CI, parallel tests) must not turn the scale-up into HostSaturated.
    let unsaturated = [
        "--max-host-cpu-ratio",
        "1.0",
        "--max-host-memory-ratio",
        "1.0",
    ];
    let controller = RunningController::start_on(db, &ns, &unsaturated).await;
    let db = &controller.db;
    until_ticks(&db.pool, 2).await;

    let (reason, desired, observed): (String, Option<i32>, Value) = sqlx::query_as(
        "SELECT reason, desired_replicas, observed FROM controller_actions ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a row");
    assert_eq!(reason, "QueuePaused", "{observed}");
    assert_eq!(desired, Some(1), "2,000 paused jobs ask for no replica");
    let paused = &observed["queues"]["by_queue"]["distribution"];
    assert_eq!(paused["paused"], true, "{observed}");
    assert!(
        paused["latency_secs"].as_f64().is_some_and(|l| l >= 1.0),
        "{observed}"
    );

    let state = controller.get_json("/api/system_state").await;
    assert!(
        state["queues"]["distribution"]["latency_secs"]
            .as_f64()
            .is_some_and(|l| l >= 1.0),
        "{state}"
    );
    assert_eq!(
        state["queue_latency_secs"], 0.0,
        "paused queues do not count: {state}"
    );
    // Names only: the recorder is per process, and the other tests' controllers publish the
    // same gauges at the same time.
    let text = controller.get("/metrics").await.text().await.expect("text");
    assert!(
        text.contains("coin_queue_paused{queue=\"distribution\"}"),
        "{text}"
    );
    assert!(
        text.contains("coin_queue_latency_seconds{queue=\"distribution\"}"),
        "{text}"
    );

    // Resumed, the same backlog is scaled for.
    assert!(queue.resume("distribution").await.expect("resume"));
    let ticks = recorded_ticks(&db.pool).await.expect("ticks");
    until_ticks(&db.pool, ticks + 2).await;
    let (reason, desired): (String, Option<i32>) = sqlx::query_as(
        "SELECT reason, desired_replicas FROM controller_actions ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a row");
    assert_ne!(reason, "QueuePaused");
    assert!(desired.is_some_and(|d| d > 1), "{reason} {desired:?}");
    let db = controller.stop().await;
    queue.purge_namespace().await.expect("purge");
    db.drop_database().await.expect("drop");
}

#[tokio::test]
async fn the_coming_distribution_is_measured_as_its_members_wallets_over_the_chunk() {
    use coin_controller::measure::{ScheduledSources, scheduled};
    use coin_shared::{jobs::Job, schedules::CronSettings};

    let db = TestDatabase::create().await.expect("db");
    // 2,001 members with wallets, one system account (not paid) and a wallet created after the
    // run (not paid either).
    sqlx::query(
        "WITH members AS (
             INSERT INTO users (id, display_name) SELECT gen_random_uuid(), 'member'
             FROM generate_series(1, 2001) RETURNING id)
         INSERT INTO wallets (user_id) SELECT id FROM members",
    )
    .execute(&db.pool)
    .await
    .expect("members");
    let (system, late) = (Uuid::new_v4(), Uuid::new_v4());
    sqlx::query(
        "INSERT INTO users (id, display_name, system_account)
         VALUES ($1, 'system', true), ($2, 'late', false)",
    )
    .bind(system)
    .bind(late)
    .execute(&db.pool)
    .await
    .expect("users");
    sqlx::query(
        "INSERT INTO wallets (user_id, created_at) VALUES ($1, now()), ($2, now() + interval '1 day')",
    )
    .bind(system)
    .bind(late)
    .execute(&db.pool)
    .await
    .expect("wallets");

    let cron = CronSettings {
        distribution_cron: "0 * * * * *".into(),
        ..CronSettings::default()
    };
    let now = chrono::Utc::now();
    let lead = Duration::from_secs(60);
    let sources = ScheduledSources::new(&cron, 10, 1_000, lead).expect("valid");
    let work = scheduled::measure(&db.pool, &sources, now)
        .await
        .expect("Postgres answers");
    assert_eq!(work.len(), 1, "{work:?}");
    let run = &work[0];
    assert_eq!(
        (run.schedule, run.queue),
        ("distribution", DistributionChunk::QUEUE)
    );
    assert_eq!(
        (run.items, run.jobs),
        (2_001, 3),
        "2,001 wallets in chunks of 1,000"
    );
    assert!(run.at > now && run.at - now <= chrono::TimeDelta::seconds(60));

    let off = ScheduledSources::new(&cron, 0, 1_000, lead).expect("valid");
    let none = scheduled::measure(&db.pool, &off, now)
        .await
        .expect("answers");
    assert!(
        none.is_empty(),
        "DISTRIBUTION_AMOUNT 0: no distribution runs"
    );
    db.drop_database().await.expect("drop");
}
