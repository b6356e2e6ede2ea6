//! Group commit of goodwill actions: many jobs per transaction, each answered only after its
//! batch committed, with hot wallets aggregated and every effect exactly once.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use coin_shared::jobs::RecordGoodwill;
use coin_tests::TestDatabase;
use coin_worker::{
    error::JobError,
    jobs::{
        Applied,
        goodwill_batch::{BatchSettings, GoodwillBatcher},
    },
};
use futures::future::join_all;
use uuid::Uuid;

fn job(action_id: Uuid, user_id: Uuid, loves_value: i32) -> RecordGoodwill {
    RecordGoodwill {
        action_id,
        user_id,
        action_type: "volunteering".into(),
        description: "Sorted donations".into(),
        loves_value,
        occurred_at: Utc::now(),
        context: serde_json::Map::new(),
        requested_by: user_id,
        requested_at: Utc::now(),
    }
}

fn batcher(db: &TestDatabase) -> GoodwillBatcher {
    GoodwillBatcher::start(
        db.pool.clone(),
        BatchSettings {
            max_batch: 250,
            linger: Duration::from_millis(5),
            parallel: 2,
            patience: Duration::from_secs(5),
        },
    )
}

/// Submits every job at once and waits for every answer, in order.
async fn submit_all(
    batcher: &GoodwillBatcher,
    jobs: Vec<RecordGoodwill>,
) -> Vec<Result<Applied, JobError>> {
    join_all(jobs.into_iter().map(|j| batcher.submit(j))).await
}

/// How many of `results` were applied for the first time.
fn applied(results: &[Result<Applied, JobError>]) -> usize {
    results
        .iter()
        .filter(|r| matches!(r, Ok(Applied::Done)))
        .count()
}

/// Midnight UTC on a day Postgres cannot store.
fn ancient(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date")
        .and_utc()
}

async fn scalar(db: &TestDatabase, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .expect(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hot_wallets_in_shared_batches_end_with_exact_balances_and_duplicates_change_nothing() {
    let db = TestDatabase::create().await.expect("db");
    let batcher = batcher(&db);
    let users: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    let jobs: Vec<RecordGoodwill> = (0..900)
        .map(|i| job(Uuid::now_v7(), users[i % 3], (i % 100) as i32 + 1))
        .collect();
    // Every 10th action is delivered twice, concurrently, so copies often share a batch.
    let deliveries: Vec<RecordGoodwill> = jobs
        .iter()
        .cloned()
        .chain(jobs.iter().step_by(10).cloned())
        .collect();

    let results = submit_all(&batcher, deliveries).await;

    let done = applied(&results);
    let dup = results
        .iter()
        .filter(|r| matches!(r, Ok(Applied::AlreadyApplied)))
        .count();
    assert_eq!(
        (done, dup),
        (900, 90),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    for user in &users {
        let expected: i64 = jobs
            .iter()
            .filter(|j| j.user_id == *user)
            .map(|j| i64::from(j.loves_value))
            .sum();
        let (balance, ledger): (i64, i64) = sqlx::query_as(
            "SELECT w.balance, (SELECT sum(amount) FROM ledger_entries l WHERE l.wallet_id = w.id)::bigint
             FROM wallets w WHERE w.user_id = $1",
        )
        .bind(user)
        .fetch_one(&db.pool)
        .await
        .expect("wallet");
        assert_eq!((balance, ledger), (expected, expected));
    }
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM goodwill_actions").await,
        900
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM ledger_entries").await,
        900
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM audit_log").await, 900);

    // A later re-delivery of everything changes nothing.
    let again = submit_all(&batcher, jobs).await;
    assert!(
        again
            .iter()
            .all(|r| matches!(r, Ok(Applied::AlreadyApplied)))
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM ledger_entries").await,
        900
    );
    db.drop_database().await.expect("drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_action_postgres_refuses_fails_alone_and_its_batch_neighbours_commit() {
    let db = TestDatabase::create().await.expect("db");
    let batcher = batcher(&db);
    let user = Uuid::now_v7();
    let mut jobs: Vec<RecordGoodwill> = (0..40).map(|_| job(Uuid::now_v7(), user, 5)).collect();
    // Outside the range Postgres can store: refused by the shared rules before the batch.
    jobs[17].occurred_at = ancient(-10_000, 1, 1);

    let results = submit_all(&batcher, jobs).await;

    assert!(
        matches!(results[17], Err(JobError::Permanent(_))),
        "{:?}",
        results[17]
    );
    assert_eq!(applied(&results), 39);
    assert_eq!(
        scalar(&db, "SELECT balance FROM wallets").await,
        39 * 5,
        "the neighbours were credited exactly once"
    );
    db.drop_database().await.expect("drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_action_outside_postgres_range_fails_alone_and_the_rest_keep_one_transaction() {
    let db = TestDatabase::create().await.expect("db");
    // A long linger, so every action lands in one batch however the runtime schedules them.
    let batcher = GoodwillBatcher::start(
        db.pool.clone(),
        BatchSettings {
            max_batch: 250,
            linger: Duration::from_millis(500),
            parallel: 1,
            patience: Duration::from_secs(5),
        },
    );
    let user = Uuid::now_v7();
    let mut jobs: Vec<RecordGoodwill> = (0..30).map(|_| job(Uuid::now_v7(), user, 3)).collect();
    // Year -5000: Postgres refuses it. Checked before the batch statement, it fails alone;
    // otherwise the batch statement fails and every action is written on its own.
    jobs[11].occurred_at = ancient(-5000, 6, 1);

    let results = submit_all(&batcher, jobs).await;

    match &results[11] {
        Err(JobError::Permanent(reason)) => assert!(reason.contains("occurred_at"), "{reason}"),
        other => panic!("the bad action must fail permanently: {other:?}"),
    }
    assert_eq!(applied(&results), 29);
    // Rows written by one transaction share its id (`xmin`) and its `now()`.
    assert_eq!(
        scalar(
            &db,
            "SELECT count(DISTINCT xmin::text)::bigint FROM goodwill_actions"
        )
        .await,
        1,
        "the 29 valid actions were committed by one transaction"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(DISTINCT processed_at)::bigint FROM goodwill_actions"
        )
        .await,
        1
    );
    assert_eq!(scalar(&db, "SELECT balance FROM wallets").await, 29 * 3);
    db.drop_database().await.expect("drop");
}
