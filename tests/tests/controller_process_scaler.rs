//! End to end: the controller with the process scaler runs real `coin-worker` processes. A burst
//! of goodwill jobs makes it scale 1 → N, the workers drain the backlog, and once the (shortened)
//! stabilization window has passed it scales back to 1 — with every job applied exactly once.

use std::time::Duration;

use coin_controller::app::ControllerApp;
use coin_shared::{jobs::RecordGoodwill, queue::JobQueue};
use coin_tests::{TestDatabase, redis_settings, wait_for};
use sqlx::PgPool;
use uuid::Uuid;

/// Under the ~8,000 due jobs that break the current queue backend.
const BURST: usize = 4_000;
const MAX_WORKERS: i32 = 3;

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
    let worker_env = [
        ("WORKER_CONCURRENCY", "4"),
        // One action per transaction, four at a time: slow enough that a burst stays in the
        // backlog for several controller ticks (group commit would drain it in under a second).
        ("GOODWILL_CONCURRENCY", "4"),
        ("GOODWILL_BATCH_SIZE", "1"),
        ("GOODWILL_BATCH_PARALLEL", "1"),
        ("WORKER_PREFETCH", "8"),
        ("SHUTDOWN_GRACE_SECS", "20"),
        ("DATABASE_MAX_CONNECTIONS", "5"),
        ("WORKER_METRICS_HOST", "127.0.0.1"),
        ("RUST_LOG", "warn"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
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
