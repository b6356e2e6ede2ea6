//! `WORKER_POOLS` against real Postgres and Redis: with a goodwill pool and a pool of the rest, a
//! goodwill backlog scales the goodwill pool only; every tick records one row per pool, under its
//! name, and the Observability Node lists, filters and sums them by pool; the process scaler runs
//! each pool's workers on that pool's queues only. (Its own test binary: the metrics recorder is
//! per process, and the first test fills the goodwill queue.)

use std::time::Duration;

use coin_controller::app::ControllerApp;
use coin_shared::queue::JobQueue;
use coin_tests::{TestDatabase, redis_settings, wait_for};
use serde_json::Value;
use sqlx::PgPool;
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

/// A controller in this process on a database and a Redis namespace of its own.
struct Pooled {
    db: TestDatabase,
    queue: JobQueue,
    address: String,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Pooled {
    /// Runs `prepare` on the new namespace's queue, then starts a controller with `args` (after
    /// the harness's defaults) whose process scaler, if any, runs `coin-worker` with
    /// `worker_env`.
    async fn start(
        args: &[&str],
        worker_env: &[(&str, &str)],
        prepare: impl AsyncFnOnce(&JobQueue),
    ) -> Self {
        let db = TestDatabase::create().await.expect("db");
        let namespace = format!("test-{}", Uuid::new_v4().simple());
        let queue = JobQueue::new(&redis_settings(&namespace)).expect("queue");
        prepare(&queue).await;
        let mut settings = coin_tests::controller_settings(&db.settings(), &namespace, args);
        if !worker_env.is_empty() {
            let binary = coin_tests::chaos::binary("coin-worker").expect("coin-worker");
            settings.worker_binary = Some(binary);
        }
        let env = worker_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let app = ControllerApp::build_with_worker_env(&settings, env)
            .await
            .expect("controller");
        let address = format!("http://{}", app.local_addr().expect("addr"));
        let (stop, handle) = coin_tests::run_controller(app);
        Self {
            db,
            queue,
            address,
            stop,
            handle,
        }
    }

    /// Stops the controller (and its workers), asserting a clean exit, and cleans up.
    async fn finish(self) {
        let _ = self.stop.send(());
        self.handle.await.expect("join").expect("clean stop");
        self.queue.purge_namespace().await.expect("purge");
        self.db.drop_database().await.expect("drop");
    }
}

/// `(pool, reason of its latest row, highest desired, rows)` of every pool, by name.
async fn by_pool(pool: &PgPool) -> anyhow::Result<Vec<(String, String, i32, i64)>> {
    Ok(sqlx::query_as(
        r#"SELECT pool,
                  (SELECT recommendations ->> 'reason' FROM controller_actions l
                   WHERE l.pool = a.pool ORDER BY id DESC LIMIT 1),
                  max(desired_replicas), count(*)
           FROM controller_actions a GROUP BY pool ORDER BY pool"#,
    )
    .fetch_all(pool)
    .await?)
}

async fn get_json(address: &str, path: &str) -> Value {
    let response = reqwest::get(format!("{address}{path}"))
        .await
        .expect("the node answers");
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    response.json().await.expect("json")
}

#[tokio::test]
async fn a_goodwill_backlog_scales_the_goodwill_pool_only_and_rows_carry_their_pool() {
    let args = [
        "--worker-pools=goodwill=goodwill@0-4;rest=*@1-3",
        "--target-backlog-per-worker=100",
        // A loaded machine must not turn the scale-up into HostSaturated.
        "--max-host-cpu-ratio=1",
        "--max-host-memory-ratio=1",
        "--max-db-connections-ratio=1",
    ];
    let controller = Pooled::start(&args, &[], async |queue| {
        let users: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
        let jobs = coin_tests::goodwill_jobs(2_000, &users);
        queue.enqueue_batch(&jobs).await.expect("enqueue");
    })
    .await;
    let (db, address) = (&controller.db, controller.address.as_str());

    let pools = wait_for(Duration::from_secs(20), "both pools decided", || async {
        let pools = by_pool(&db.pool).await?;
        let scaled = pools
            .iter()
            .any(|(name, _, desired, _)| name == "goodwill" && *desired >= 4);
        Ok((scaled && pools.iter().all(|(_, _, _, rows)| *rows >= 3)).then_some(pools))
    })
    .await
    .expect("the goodwill pool scales to its max");
    let names: Vec<&str> = pools.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(names, ["goodwill", "rest"], "{pools:?}");
    let (_, _, rest_desired, _) = &pools[1];
    assert_eq!(*rest_desired, 1, "no backlog on the rest: {pools:?}");
    // Each pool saw its own queues only.
    let (goodwill_observed, rest_observed): (Value, Value) = sqlx::query_as(
        "SELECT (SELECT observed FROM controller_actions WHERE pool = 'goodwill' LIMIT 1),
                (SELECT observed FROM controller_actions WHERE pool = 'rest' LIMIT 1)",
    )
    .fetch_one(&db.pool)
    .await
    .expect("rows");
    let queues = |observed: &Value| -> Vec<String> {
        observed["queues"]["by_queue"]
            .as_object()
            .map(|q| q.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(queues(&goodwill_observed), ["goodwill"]);
    assert_eq!(
        goodwill_observed["queues"]["by_queue"]["goodwill"]["backlog"], 2_000,
        "{goodwill_observed}"
    );
    let mut rest = queues(&rest_observed);
    rest.sort();
    assert_eq!(
        rest,
        [
            "distribution",
            "governance",
            "operations",
            "votes",
            "webhooks"
        ]
    );

    let listed = get_json(address, "/api/controller_decisions?pool=goodwill&limit=100").await;
    let rows = listed["decisions"].as_array().expect("decisions");
    assert!(!rows.is_empty(), "{listed}");
    assert!(rows.iter().all(|r| r["pool"] == "goodwill"), "{listed}");
    let all = get_json(address, "/api/controller_decisions?limit=100").await;
    let all = all["decisions"].as_array().expect("decisions");
    assert!(all.iter().any(|r| r["pool"] == "rest"), "{all:?}");
    let none = get_json(address, "/api/controller_decisions?pool=nosuch").await;
    assert_eq!(none["count"], 0, "{none}");

    let state = get_json(address, "/api/system_state").await;
    assert_eq!(
        state["redis_queue_depth"], 2_000,
        "every pool's queues: {state}"
    );
    let pools = state["pools"].as_array().expect("pools");
    let names: Vec<&str> = pools.iter().filter_map(|p| p["pool"].as_str()).collect();
    assert_eq!(names, ["goodwill", "rest"], "{state}");
    assert_eq!(
        pools[0]["queues"],
        serde_json::json!(["goodwill"]),
        "{state}"
    );
    let desired: u64 = pools.iter().filter_map(|p| p["desired"].as_u64()).sum();
    assert_eq!(state["worker_replicas"]["desired"], desired, "{state}");

    let text = reqwest::get(format!("{address}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for pool in ["goodwill", "rest"] {
        let label = format!("pool=\"{pool}\"");
        assert!(
            text.lines()
                .any(|l| l.starts_with("coin_worker_replicas{") && l.contains(&label)),
            "{label} in\n{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("coin_controller_decisions_total{") && l.contains(&label)),
            "{label} in\n{text}"
        );
    }

    controller.finish().await;
}

#[tokio::test]
async fn with_the_process_scaler_each_pool_runs_workers_of_its_own_queues() {
    let args = [
        "--scaler=process",
        "--worker-pools=goodwill=goodwill@1-1;rest=*@1-1",
    ];
    let worker_env = [
        ("DATABASE_MAX_CONNECTIONS", "3"),
        ("WORKER_METRICS_HOST", "127.0.0.1"),
        ("RUST_LOG", "warn"),
    ];
    let controller = Pooled::start(&args, &worker_env, async |_| {}).await;
    let queue = &controller.queue;

    // Each pool's one worker announces the queues it serves, under an id naming its pool.
    let mut announced = wait_for(Duration::from_secs(30), "two workers announced", || async {
        let processes = queue.processes().await?;
        Ok((processes.len() == 2).then_some(processes))
    })
    .await
    .expect("both pools start their worker");
    announced.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
    let served: Vec<(bool, Vec<&str>)> = announced
        .iter()
        .map(|p| {
            let pool = if p.worker_id.starts_with("coin-worker-goodwill-0-") {
                true
            } else {
                assert!(p.worker_id.starts_with("coin-worker-rest-0-"), "{p:?}");
                false
            };
            (pool, p.concurrency.keys().map(String::as_str).collect())
        })
        .collect();
    assert_eq!(
        served,
        [
            (true, vec!["goodwill"]),
            (
                false,
                vec![
                    "distribution",
                    "governance",
                    "operations",
                    "votes",
                    "webhooks"
                ]
            ),
        ],
        "{announced:?}"
    );

    controller.finish().await;
}
