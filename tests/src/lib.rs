//! Test harness: every test gets its own Postgres database (created from the migrations) and its
//! own Redis key namespace, and spawns the real API and worker in-process on port 0.
//!
//! `TEST_DATABASE_URL` (default `postgres://postgres:postgres@127.0.0.1:5432/postgres`) is an
//! admin URL used to create the databases; `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`)
//! the Redis server.

pub mod chaos;
pub mod jwks;
pub mod metric_names;

use std::{future::Future, time::Duration};

use anyhow::Context;
use coin_api::{
    auth::{Role, TokenIssuer},
    settings::ApiSettings,
    startup::Application,
};
use coin_shared::{
    config::{CommonSettings, DatabaseSettings, LogFormat, RedisSettings, TelemetrySettings},
    db::ScratchDatabase,
    identity::IdentitySettings,
    queue::JobQueue,
};
use coin_worker::{runner::WorkerApp, settings::WorkerSettings};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

/// The admin URL tests create their databases with.
pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The Redis server tests use.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A fresh database with every migration applied.
pub struct TestDatabase {
    /// Its name (`coin_test_<uuid>`).
    pub name: String,
    /// Its URL.
    pub url: String,
    /// A pool on it, for assertions.
    pub pool: PgPool,
    scratch: ScratchDatabase,
}

impl TestDatabase {
    /// Creates the database and migrates it.
    pub async fn create() -> anyhow::Result<Self> {
        let scratch = ScratchDatabase::create(&admin_database_url(), "coin_test")
            .await
            .context("tests need PostgreSQL: run scripts/test.sh, or set TEST_DATABASE_URL")?;
        let pool = PgPool::connect(&scratch.url).await?;
        coin_shared::db::migrate(&pool).await?;
        Ok(Self {
            name: scratch.name.clone(),
            url: scratch.url.clone(),
            pool,
            scratch,
        })
    }

    /// Settings pointing at this database.
    pub fn settings(&self) -> DatabaseSettings {
        DatabaseSettings {
            database_url: SecretString::from(self.url.clone()),
            database_max_connections: 10,
            run_migrations: false,
        }
    }

    /// Drops the database (call at the end of a test; leftovers are dropped by scripts/test.sh).
    pub async fn drop_database(self) -> anyhow::Result<()> {
        self.pool.close().await;
        self.scratch.drop().await?;
        Ok(())
    }
}

/// Redis settings with a namespace of the test's own.
pub fn redis_settings(namespace: &str) -> RedisSettings {
    RedisSettings {
        redis_url: SecretString::from(redis_url()),
        queue_namespace: namespace.to_owned(),
        redis_response_timeout_ms: 5_000,
        redis_connect_timeout_ms: 1_000,
    }
}

/// Logging as the in-process API and workers do it: readable lines, filtered by `RUST_LOG`.
fn test_telemetry() -> TelemetrySettings {
    TelemetrySettings {
        log_format: LogFormat::Pretty,
    }
}

/// A running API, its database and its Redis namespace.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// Database shared with any worker spawned for this app.
    pub db: TestDatabase,
    /// The app's Redis namespace.
    pub namespace: String,
    /// A queue handle on that namespace.
    pub queue: JobQueue,
    /// Signs tokens the app accepts.
    pub issuer: TokenIssuer,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The secret, to build more settings.
    pub jwt_secret: String,
    /// The Redis the app (and its workers) use.
    pub redis_url: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Starts the API on a random port with a fresh database and Redis namespace.
pub async fn spawn_app() -> anyhow::Result<TestApp> {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with settings adjusted by `configure` first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut ApiSettings)) -> anyhow::Result<TestApp> {
    let db = TestDatabase::create().await?;
    let namespace = format!("test-{}", Uuid::new_v4().simple());
    let jwt_secret = format!("test-secret-{}", Uuid::new_v4().simple());
    let mut settings = ApiSettings {
        api_host: "127.0.0.1".into(),
        api_port: 0,
        identity: IdentitySettings::secret(SecretString::from(jwt_secret.clone())),
        database_read_url: None,
        max_body_bytes: 64 * 1024,
        // The tests' receivers listen on loopback.
        webhook_allow_private: true,
        header_timeout_secs: 10,
        body_timeout_secs: 15,
        idle_timeout_secs: 60,
        max_connections: 10_000,
        max_inflight_body_bytes: 64 * 1024 * 1024,
        rate_limit_per_minute: 100_000,
        idempotency_ttl_secs: 3_600,
        common: CommonSettings {
            database: db.settings(),
            redis: redis_settings(&namespace),
            telemetry: test_telemetry(),
        },
    };
    configure(&mut settings);
    let app = Application::build(&settings).await?;
    let address = format!("http://{}", app.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Ok(TestApp {
        address,
        queue: JobQueue::new(&settings.common.redis)?,
        issuer: TokenIssuer::new(&SecretString::from(jwt_secret.clone()))?,
        db,
        namespace,
        client: reqwest::Client::new(),
        jwt_secret,
        redis_url: settings.common.redis.url().to_owned(),
        stop: Some(stop),
        server: Some(server),
    })
}

/// A worker running in this process.
pub struct TestWorker {
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<anyhow::Result<()>>,
    /// Where its `/health` and `/metrics` answer.
    pub metrics_address: String,
}

impl TestWorker {
    /// `GET path` on its `/health` and `/metrics` server.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.metrics_address))
            .await
            .expect("the worker answers")
    }

    /// Sends the shutdown signal and waits for a clean exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .context("the worker did not stop within 30 s")??
    }
}

impl TestApp {
    /// A bearer token for `sub` in `role`.
    pub fn token(&self, sub: Uuid, role: Role) -> String {
        self.issuer
            .issue(sub, role, chrono::Duration::hours(1))
            .expect("signing a test token")
    }

    /// `POST path` with a JSON body and an optional bearer token.
    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("the API answers")
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the API answers")
    }

    /// Posts a command and asserts the 202; returns its body.
    pub async fn accepted(&self, path: &str, token: &str, body: &Value) -> Value {
        let response = self.post_json(path, Some(token), body).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, 202, "POST {path} answered {status}: {text}");
        serde_json::from_str(&text).expect("a JSON body")
    }

    /// Waits until the job of a 202 answer is `done` or `dead` and returns its status.
    pub async fn settled(&self, accepted: &Value) -> Value {
        let url = accepted["status_url"]
            .as_str()
            .expect("status_url")
            .to_owned();
        wait_for(Duration::from_secs(30), "the job to settle", || async {
            let status: Value = self.get(&url).await.json().await?;
            Ok(matches!(status["state"].as_str(), Some("done" | "dead")).then_some(status))
        })
        .await
        .expect("the job settles")
    }

    /// Posts a command, waits for its job and asserts it is `done`; returns the 202 body.
    pub async fn applied(&self, path: &str, token: &str, body: &Value) -> Value {
        let accepted = self.accepted(path, token, body).await;
        let status = self.settled(&accepted).await;
        assert_eq!(status["state"], "done", "{path}: {status}");
        accepted
    }

    /// Posts a batch of goodwill `actions` as `service`, asserts the 202 and returns its body
    /// (one result per item).
    pub async fn batch(&self, service: &str, actions: &[Value]) -> Value {
        let body = serde_json::json!({ "actions": actions });
        self.accepted("/v1/goodwill-actions:batch", service, &body)
            .await
    }

    /// Creates a draft proposal as `council` (a council member's token), waits for it to be
    /// applied and returns its id.
    pub async fn proposal(&self, council: &str, title: &str, description: &str) -> String {
        let body = serde_json::json!({"title": title, "description": description});
        let created = self.applied("/v1/proposals", council, &body).await;
        created["proposal_id"]
            .as_str()
            .expect("proposal_id")
            .to_owned()
    }

    /// Opens the proposal (DRAFT → ACTIVE) as `council`, once the worker applied it.
    pub async fn open(&self, council: &str, proposal: &str) -> Value {
        let path = format!("/v1/proposals/{proposal}/open");
        self.applied(&path, council, &serde_json::json!({})).await
    }

    /// GETs a JSON document, asserting 200.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        response.json().await.expect("a JSON body")
    }

    /// Starts a worker on this app's database and namespace.
    pub async fn spawn_worker(&self, concurrency: u32) -> anyhow::Result<TestWorker> {
        self.spawn_worker_with(concurrency, |_| {}).await
    }

    /// Like [`Self::spawn_worker`], with settings adjusted by `configure` first.
    pub async fn spawn_worker_with(
        &self,
        concurrency: u32,
        configure: impl FnOnce(&mut WorkerSettings),
    ) -> anyhow::Result<TestWorker> {
        let mut settings = WorkerSettings {
            worker_concurrency: concurrency,
            goodwill_concurrency: 256,
            goodwill_batch_size: 200,
            goodwill_batch_linger_ms: 2,
            goodwill_batch_parallel: 2,
            goodwill_db_patience_secs: 20,
            goodwill_max_jobs_per_sec: None,
            worker_metrics_host: "127.0.0.1".into(),
            worker_metrics_port: 0,
            shutdown_grace_secs: 10,
            worker_id_prefix: Some("test".into()),
            worker_queues: Default::default(),
            queue: coin_shared::config::QueueSettings {
                job_backoff_base_ms: 100,
                job_backoff_max_secs: 2,
                orphan_recovery_secs: 6,
                ..Default::default()
            },
            // Fast webhook retries; the schedules keep their defaults unless a test sets them.
            webhooks: coin_worker::settings::WebhookSettings {
                webhook_backoff_base_ms: 100,
                webhook_backoff_max_secs: 2,
                // The tests' receivers listen on loopback.
                webhook_allow_private: true,
                ..Default::default()
            },
            schedules: Default::default(),
            common: CommonSettings {
                database: self.db.settings(),
                redis: RedisSettings {
                    redis_url: SecretString::from(self.redis_url.clone()),
                    ..redis_settings(&self.namespace)
                },
                telemetry: test_telemetry(),
            },
        };
        configure(&mut settings);
        let worker = WorkerApp::build(settings).await?;
        let metrics_address = format!("http://{}", worker.metrics_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(worker.run_until(async move {
            let _ = stopped.await;
        }));
        Ok(TestWorker {
            stop: Some(stop),
            handle,
            metrics_address,
        })
    }

    /// A real `coin-worker` process on this app's database and namespace; `env` adds or
    /// overrides variables.
    pub fn worker_process(&self, env: &[(&str, &str)]) -> anyhow::Result<tokio::process::Child> {
        let mut command = tokio::process::Command::new(chaos::binary("coin-worker")?);
        command
            .env("DATABASE_URL", &self.db.url)
            .env("REDIS_URL", &self.redis_url)
            .env("QUEUE_NAMESPACE", &self.namespace)
            .env("RUN_MIGRATIONS", "false")
            .env("WORKER_METRICS_PORT", "0")
            .env("WORKER_ID_PREFIX", "test-process")
            .env("ORPHAN_RECOVERY_SECS", "3")
            .env("JOB_BACKOFF_BASE_MS", "100")
            .env("JOB_BACKOFF_MAX_SECS", "2")
            .env("WEBHOOK_ALLOW_PRIVATE", "true")
            .env("RUST_LOG", "warn")
            .env_remove("RUST_BACKTRACE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        Ok(command.spawn()?)
    }

    /// Stops the API, drops the database and deletes the Redis namespace.
    pub async fn teardown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await??;
        }
        self.queue.purge_namespace().await?;
        self.db.drop_database().await
    }
}

/// The value of header `name` of `response`, when it is there and is text.
pub fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The fields a problem document's `errors` name, in order.
pub fn error_fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect()
}

/// The field the first error of each refused item of a batch answer names, in item order.
pub fn batch_refusals(batch: &Value) -> Vec<&str> {
    batch["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|item| item["errors"][0]["field"].as_str())
        .collect()
}

/// The numbers at `keys` of a JSON object (`None` where one is missing or not a count), to
/// compare several counts of one answer in one assertion.
pub fn counts<const N: usize>(value: &Value, keys: [&str; N]) -> [Option<u64>; N] {
    keys.map(|key| value[key].as_u64())
}

/// Asserts that a settled job's status is `dead` and that its last error names `reason`.
pub fn assert_dead_because(status: &Value, reason: &str) {
    assert_eq!(status["state"], "dead", "{status}");
    assert!(
        status["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains(reason),
        "the last error should name {reason:?}: {status}"
    );
}

/// The scene of a test whose jobs must run: an app, a worker in this process and one caller
/// of a given role, the same caller throughout.
pub struct Scene {
    /// The API, its database and namespace.
    pub app: TestApp,
    /// A worker (4 vote jobs at once) on them.
    pub worker: TestWorker,
    /// The caller's bearer token.
    pub token: String,
}

impl Scene {
    /// Starts the app and its worker and issues a token for a new caller in `role`.
    pub async fn start(role: Role) -> Self {
        let app = spawn_app().await.expect("app");
        let worker = app.spawn_worker(4).await.expect("worker");
        let token = app.token(Uuid::now_v7(), role);
        Self { app, worker, token }
    }

    /// Stops the worker cleanly, then tears the app down.
    pub async fn finish(self) {
        self.worker.stop().await.expect("stop");
        self.app.teardown().await.expect("teardown");
    }
}

/// Polls `check` every 50 ms until it returns `Some`, or fails after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Controller settings as `coin-controller` would parse them from `args` (after defaults that
/// keep a test fast and harmless: loopback, a free port, no scaler, 0.2 s ticks — each unless
/// `args` sets it), on `db` and the Redis `namespace`.
pub fn controller_settings(
    db: &DatabaseSettings,
    namespace: &str,
    args: &[&str],
) -> coin_controller::settings::ControllerSettings {
    let defaults = [
        ("--observability-host", "127.0.0.1"),
        ("--observability-port", "0"),
        ("--console-host", "127.0.0.1"),
        ("--console-port", "0"),
        ("--scaler", "none"),
        ("--controller-interval", "0.2"),
    ];
    let mut argv = vec!["coin-controller"];
    for (flag, value) in defaults {
        if !args.iter().any(|a| a.split('=').next() == Some(flag)) {
            argv.extend([flag, value]);
        }
    }
    argv.extend_from_slice(args);
    let mut settings = coin_controller::settings::ControllerSettings::parse_from(argv);
    settings.common.database = db.clone();
    settings.common.redis = redis_settings(namespace);
    settings
}

/// Runs `app` on a task until the returned sender sends (or is dropped); the handle yields how
/// it stopped.
pub fn run_controller(
    app: coin_controller::app::ControllerApp,
) -> (oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (stop, handle)
}

/// `n` goodwill jobs spread over `users`, worth 1 to 10 points each, accepted now.
pub fn goodwill_jobs(n: usize, users: &[Uuid]) -> Vec<coin_shared::jobs::RecordGoodwill> {
    (0..n)
        .map(|i| coin_shared::jobs::RecordGoodwill {
            action_id: Uuid::now_v7(),
            user_id: users[i % users.len()],
            action_type: "volunteering".into(),
            description: "Cleaned the river bank".into(),
            loves_value: (i % 10) as i32 + 1,
            occurred_at: chrono::Utc::now(),
            context: serde_json::Map::new(),
            requested_by: users[i % users.len()],
            requested_at: chrono::Utc::now(),
        })
        .collect()
}

/// A valid goodwill body for tests to vary.
pub fn goodwill_body(loves_value: i64) -> Value {
    serde_json::json!({
        "action_type": "volunteering",
        "description": "Helped at the community garden",
        "loves_value": loves_value,
        "contextual_data": {"hours": 2},
    })
}

/// The Role type, re-exported for tests.
pub use coin_api::auth::Role as TokenRole;
