//! End to end: the controller with the process scaler runs real `coin-worker` processes. A burst
//! of goodwill jobs makes it scale 1 → N, the workers drain the backlog, and once the (shortened)
//! stabilization window has passed it scales back to 1 — with every job applied exactly once.
//! And a scale-down stops the idle worker, not the busy one, even when the busy one is newer.

use std::{sync::Arc, time::Duration};

use coin_controller::{
    app::ControllerApp,
    scale::{ProcessConfig, ProcessScaler, WorkerRegistry},
};
use coin_shared::{jobs::RecordGoodwill, queue::JobQueue};
use coin_tests::{TestDatabase, redis_settings, wait_for};
use sqlx::PgPool;
use uuid::Uuid;

/// Under the ~8,000 due jobs that break the current queue backend.
const BURST: usize = 4_000;
const MAX_WORKERS: i32 = 3;

/// `vars` and what every worker of these tests gets: a small prefetch, a long grace, few
/// connections, metrics on loopback, quiet logs.
fn worker_env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    let common = [
        ("WORKER_PREFETCH", "8"),
        ("SHUTDOWN_GRACE_SECS", "20"),
        ("DATABASE_MAX_CONNECTIONS", "5"),
        ("WORKER_METRICS_HOST", "127.0.0.1"),
        ("RUST_LOG", "warn"),
    ];
    vars.iter()
        .chain(&common)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `(highest, latest)` current replicas recorded so far.
async fn replicas(pool: &PgPool) -> anyhow::Result<(Option<i32>, Option<i32>)> {
    Ok(sqlx::query_as(
        "SELECT (SELECT max(current_replicas) FROM controller_actions),
                (SELECT current_replicas FROM controller_actions ORDER BY id DESC LIMIT 1)",
    )
    .fetch_one(pool)
    .await?)
}

/// Waits at most `within` until the recorded `(highest, latest)` replicas satisfy `reached`.
async fn until_replicas(
    pool: &PgPool,
    within: Duration,
    what: &str,
    reached: impl Fn((Option<i32>, Option<i32>)) -> bool,
) {
    wait_for(within, what, || async {
        Ok(reached(replicas(pool).await?).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_burst_scales_local_workers_up_then_down_without_losing_a_job() {
    let db = TestDatabase::create().await.expect("db");
    let namespace = format!("test-{}", Uuid::new_v4().simple());
    let queue = JobQueue::new(&redis_settings(&namespace)).expect("queue");
    let mut settings = coin_tests::controller_settings(
        &db.settings(),
        &namespace,
        &[
            "--scaler=process",
            "--controller-interval=0.5",
            "--min-workers=1",
            "--max-workers=3",
            "--target-backlog-per-worker=200",
            "--scale-down-stabilization-secs=4",
            "--drain-target-secs=5",
            // The test machine is small: the workers themselves saturate it, which is not what
            // this test is about.
            "--max-host-cpu-ratio=1",
            "--max-host-memory-ratio=1",
            "--max-db-connections-ratio=1",
        ],
    );
    settings.worker_binary = Some(coin_tests::chaos::binary("coin-worker").expect("coin-worker"));
    let worker_env = worker_env(&[
        ("WORKER_CONCURRENCY", "4"),
        // One action per transaction, four at a time: slow enough that a burst stays in the
        // backlog for several controller ticks (group commit would drain it in under a second).
        ("GOODWILL_CONCURRENCY", "4"),
        ("GOODWILL_BATCH_SIZE", "1"),
        ("GOODWILL_BATCH_PARALLEL", "1"),
    ]);
    let app = ControllerApp::build_with_worker_env(&settings, worker_env)
        .await
        .expect("controller");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    // Arrange: the controller brings the pool to its minimum of one worker.
    let one_worker = |(_, latest): (_, Option<i32>)| latest == Some(1);
    until_replicas(&db.pool, Duration::from_secs(20), "one worker", one_worker).await;

    // Act: a burst.
    let users: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
    let jobs: Vec<RecordGoodwill> = coin_tests::goodwill_jobs(BURST, &users)
        .into_iter()
        .map(|job| RecordGoodwill {
            loves_value: 3,
            ..job
        })
        .collect();
    let started = tokio::time::Instant::now();
    for chunk in jobs.chunks(1_000) {
        queue.enqueue_batch(chunk).await.expect("enqueue");
    }

    // Assert: it scales up to more than one worker...
    until_replicas(
        &db.pool,
        Duration::from_secs(30),
        "a scale-up",
        |(highest, _)| highest > Some(1),
    )
    .await;
    // ...every job is applied...
    let applied_in = wait_for(Duration::from_secs(180), "the burst to drain", || async {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM goodwill_actions")
            .fetch_one(&db.pool)
            .await?;
        Ok((done as usize >= BURST).then(|| started.elapsed()))
    })
    .await
    .expect("drained");
    // ...and once the window has passed with nothing to do, it scales back to one.
    until_replicas(
        &db.pool,
        Duration::from_secs(60),
        "the scale-down",
        one_worker,
    )
    .await;

    let (highest, _) = replicas(&db.pool).await.expect("replicas");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM goodwill_actions")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    let credited: Option<i64> = sqlx::query_scalar("SELECT sum(balance)::bigint FROM wallets")
        .fetch_one(&db.pool)
        .await
        .expect("balances");
    let depth = queue.depth("goodwill").await.expect("depth");
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT reason FROM controller_actions WHERE current_replicas <> desired_replicas",
    )
    .fetch_all(&db.pool)
    .await
    .expect("reasons");
    eprintln!(
        "burst of {BURST}: applied in {applied_in:?}, highest replicas {highest:?}, reasons {reasons:?}"
    );
    assert_eq!(applied as usize, BURST, "every job applied once");
    assert_eq!(credited, Some(3 * BURST as i64), "every job credited once");
    assert_eq!((depth.backlog, depth.dead), (0, 0));
    assert!(
        highest.is_some_and(|h| h > 1 && h <= MAX_WORKERS),
        "{highest:?}"
    );

    // The controller drains its workers on the way out (SIGTERM, then waits).
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(60), controller)
        .await
        .expect("the controller stops within a minute")
        .expect("join")
        .expect("clean stop");
    queue.purge_namespace().await.expect("purge");
    db.drop_database().await.expect("drop");
}

/// Jobs in flight of the announced worker process `pid`; `None` before it announced.
async fn inflight_of(queue: &JobQueue, pid: u32) -> anyhow::Result<Option<u64>> {
    let loads = queue.loads().await?;
    Ok(loads.iter().find(|l| l.pid == pid).map(|l| l.inflight))
}

/// Sends `signal` (`STOP`, `CONT`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

#[tokio::test]
async fn a_scale_down_stops_the_idle_worker_and_keeps_the_busy_one() {
    let db = TestDatabase::create().await.expect("db");
    let namespace = format!("test-{}", Uuid::new_v4().simple());
    let queue = JobQueue::new(&redis_settings(&namespace)).expect("queue");
    let env = worker_env(&[
        ("DATABASE_URL", db.url.as_str()),
        ("REDIS_URL", &coin_tests::redis_url()),
        ("QUEUE_NAMESPACE", &namespace),
        ("RUN_MIGRATIONS", "false"),
    ]);
    let mut scaler = ProcessScaler::new(ProcessConfig {
        binary: coin_tests::chaos::binary("coin-worker").expect("coin-worker"),
        env,
        metrics_port_base: 0,
        id_prefix: ProcessConfig::DEFAULT_ID_PREFIX.to_owned(),
    })
    .with_registry(Arc::new(queue.clone()));
    let announced = |pid: u32| {
        let queue = queue.clone();
        async move {
            wait_for(
                Duration::from_secs(30),
                "the worker's announcement",
                || async { inflight_of(&queue, pid).await },
            )
            .await
            .expect("announced")
        }
    };

    // Arrange: the older worker, frozen while the newer one takes every job; the jobs cannot
    // finish (their table is locked), so the newer one stays busy and the older one idle.
    scaler.scale_to(1).await.expect("spawn the older");
    let older = scaler.pids()[0];
    announced(older).await;
    signal(older, "STOP");
    scaler.scale_to(2).await.expect("spawn the newer");
    let newer = scaler.pids()[1];
    announced(newer).await;
    let mut lock = db.pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE goodwill_actions IN SHARE MODE")
        .execute(&mut *lock)
        .await
        .expect("lock");
    let users = [Uuid::now_v7()];
    queue
        .enqueue_batch(&coin_tests::goodwill_jobs(3, &users))
        .await
        .expect("enqueue");
    wait_for(
        Duration::from_secs(30),
        "the newer worker to hold the jobs",
        || async {
            let held = inflight_of(&queue, newer).await?.unwrap_or(0);
            let backlog = queue.depth("goodwill").await?.backlog;
            Ok((held == 3 && backlog == 0).then_some(()))
        },
    )
    .await
    .expect("busy");
    signal(older, "CONT");
    assert_eq!(inflight_of(&queue, older).await.expect("registry"), Some(0));

    // Act: 2 → 1.
    let done = scaler.scale_to(1).await.expect("scale down");

    // Assert: the idle older worker got SIGTERM and exits; the busy newer one runs on.
    assert_eq!(scaler.pids(), vec![newer], "{done}");
    assert!(
        done.contains(&format!("pid {older} (0 in flight)")),
        "{done}"
    );
    tokio::time::timeout(Duration::from_secs(30), async {
        while scaler.draining() > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the idle worker did not exit");
    assert_eq!(scaler.pids(), vec![newer], "the busy worker still runs");
    assert_eq!(
        inflight_of(&queue, newer).await.expect("registry"),
        Some(3),
        "and still holds its jobs"
    );

    // The jobs finish once the table is free, each once.
    lock.commit().await.expect("unlock");
    wait_for(Duration::from_secs(30), "the jobs to apply", || async {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM goodwill_actions")
            .fetch_one(&db.pool)
            .await?;
        Ok((done == 3).then_some(()))
    })
    .await
    .expect("applied");
    scaler.shutdown().await;
    queue.purge_namespace().await.expect("purge");
    db.drop_database().await.expect("drop");
}
