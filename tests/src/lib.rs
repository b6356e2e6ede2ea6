//! Test harness: every test gets its own Postgres database (created from the migrations) and its
//! own Redis key namespace, and spawns the real API and worker in-process on port 0.
//!
//! `TEST_DATABASE_URL` (default `postgres://postgres:postgres@127.0.0.1:5432/postgres`) is an
//! admin URL used to create the databases; `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`)
//! the Redis server.

pub mod chaos;
pub mod metric_names;

use std::{future::Future, time::Duration};

use anyhow::Context;
use coin_api::{
    auth::{Role, TokenVerifier},
    settings::ApiSettings,
    startup::Application,
};
use coin_shared::{
    config::{DatabaseSettings, LogFormat, RedisSettings, TelemetrySettings},
    db::ScratchDatabase,
    queue::JobQueue,
};
use coin_worker::{runner::WorkerApp, settings::WorkerSettings};
use secrecy::SecretString;
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
    pub verifier: TokenVerifier,
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
        jwt_secret: Some(SecretString::from(jwt_secret.clone())),
        database_read_url: None,
        max_body_bytes: 64 * 1024,
        rate_limit_per_minute: 100_000,
        idempotency_ttl_secs: 3_600,
        database: db.settings(),
        redis: redis_settings(&namespace),
        telemetry: TelemetrySettings {
            log_format: LogFormat::Pretty,
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
        queue: JobQueue::new(&settings.redis)?,
        verifier: TokenVerifier::new(&SecretString::from(jwt_secret.clone()))?,
        db,
        namespace,
        client: reqwest::Client::new(),
        jwt_secret,
        redis_url: settings.redis.url().to_owned(),
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
        self.verifier
            .issue(sub, role, chrono::Duration::hours(1))
            .expect("signing a test token")
    }

    /// `POST path` with a JSON body and an optional bearer token.
    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
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
    pub async fn accepted(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> serde_json::Value {
        let response = self.post_json(path, Some(token), body).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, 202, "POST {path} answered {status}: {text}");
        serde_json::from_str(&text).expect("a JSON body")
    }

    /// Waits until the job of a 202 answer is `done` or `dead` and returns its status.
    pub async fn settled(&self, accepted: &serde_json::Value) -> serde_json::Value {
        let url = accepted["status_url"]
            .as_str()
            .expect("status_url")
            .to_owned();
        wait_for(Duration::from_secs(30), "the job to settle", || async {
            let status: serde_json::Value = self.get(&url).await.json().await?;
            Ok(matches!(status["state"].as_str(), Some("done" | "dead")).then_some(status))
        })
        .await
        .expect("the job settles")
    }

    /// Posts a command, waits for its job and asserts it is `done`; returns the 202 body.
    pub async fn applied(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> serde_json::Value {
        let accepted = self.accepted(path, token, body).await;
        let status = self.settled(&accepted).await;
        assert_eq!(status["state"], "done", "{path}: {status}");
        accepted
    }

    /// GETs a JSON document, asserting 200.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
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
            worker_metrics_host: "127.0.0.1".into(),
            worker_metrics_port: 0,
            shutdown_grace_secs: 10,
            worker_id_prefix: Some("test".into()),
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
                ..Default::default()
            },
            schedules: Default::default(),
            database: self.db.settings(),
            redis: RedisSettings {
                redis_url: SecretString::from(self.redis_url.clone()),
                ..redis_settings(&self.namespace)
            },
            telemetry: TelemetrySettings {
                log_format: LogFormat::Pretty,
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
    settings.database = db.clone();
    settings.redis = redis_settings(namespace);
    settings
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
pub fn goodwill_body(loves_value: i64) -> serde_json::Value {
    serde_json::json!({
        "action_type": "volunteering",
        "description": "Helped at the community garden",
        "loves_value": loves_value,
        "contextual_data": {"hours": 2},
    })
}

/// The Role type, re-exported for tests.
pub use coin_api::auth::Role as TokenRole;
