//! End to end: HTTP → Redis → worker → Postgres, exactly once.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use coin_shared::jobs::RecordGoodwill;
use coin_tests::{TokenRole as Role, goodwill_body, spawn_app, wait_for};
use coin_worker::jobs::{Applied, record_goodwill::apply};
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use uuid::Uuid;

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

/// Every wallet's balance equals the sum of its ledger entries and of its user's actions.
async fn assert_books_balance(pool: &sqlx::PgPool) {
    let mismatches: i64 = count(
        pool,
        "SELECT count(*) FROM wallets w
         WHERE w.balance <> COALESCE((SELECT sum(amount) FROM ledger_entries l WHERE l.wallet_id = w.id), 0)
            OR w.balance <> COALESCE((SELECT sum(loves_value) FROM goodwill_actions a
                                      WHERE a.performer_user_id = w.user_id), 0)",
    )
    .await;
    assert_eq!(
        mismatches, 0,
        "some wallet disagrees with its ledger or its actions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_actions_for_fifty_users_are_each_committed_once_and_the_books_balance() {
    let app = spawn_app().await.expect("app");
    let worker = app.spawn_worker(16).await.expect("worker");
    let users: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
    let tokens: Vec<String> = users.iter().map(|u| app.token(*u, Role::Member)).collect();

    let started = Instant::now();
    let accepted: Vec<(usize, i64, Value)> = stream::iter(0..1_000usize)
        .map(|i| {
            let (app, tokens) = (&app, &tokens);
            async move {
                let loves = (i % 100) as i64 + 1;
                let response = app
                    .post_json(
                        "/v1/goodwill-actions",
                        Some(&tokens[i % 50]),
                        &goodwill_body(loves),
                    )
                    .await;
                assert_eq!(response.status().as_u16(), 202);
                (i % 50, loves, response.json::<Value>().await.expect("json"))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let posted = started.elapsed();

    wait_for(
        Duration::from_secs(60),
        "1,000 committed actions",
        || async {
            let n = count(&app.db.pool, "SELECT count(*) FROM goodwill_actions").await;
            Ok((n == 1_000).then_some(()))
        },
    )
    .await
    .expect("all actions committed");
    let drained = started.elapsed();
    println!(
        "end-to-end: 1,000 actions posted in {:.0} ms ({:.0}/s), committed in {:.0} ms ({:.0}/s)",
        posted.as_secs_f64() * 1e3,
        1_000.0 / posted.as_secs_f64(),
        drained.as_secs_f64() * 1e3,
        1_000.0 / drained.as_secs_f64()
    );

    let mut expected: HashMap<Uuid, i64> = HashMap::new();
    for (user, loves, _) in &accepted {
        *expected.entry(users[*user]).or_default() += loves;
    }
    for (user, total) in &expected {
        let wallet = app.get_json(&format!("/v1/users/{user}/wallet")).await;
        assert_eq!(wallet["balance"], *total, "wallet of {user}");
    }
    assert_eq!(
        count(&app.db.pool, "SELECT count(*) FROM ledger_entries").await,
        1_000
    );
    assert_eq!(count(&app.db.pool, "SELECT count(*) FROM users").await, 50);
    assert_eq!(
        count(
            &app.db.pool,
            "SELECT count(*) FROM audit_log WHERE action_type = 'GOODWILL_RECORDED'"
        )
        .await,
        1_000
    );
    assert_eq!(
        count(&app.db.pool, "SELECT count(*) FROM goodwill_actions WHERE status = 'VERIFIED' AND processed_at IS NOT NULL").await,
        1_000
    );
    assert_books_balance(&app.db.pool).await;

    let (_, _, first) = &accepted[0];
    let job_id = first["job_id"].as_str().expect("job id");
    let status = wait_for(Duration::from_secs(10), "job marked done", || async {
        let status: Value = app.get(&format!("/v1/jobs/{job_id}")).await.json().await?;
        Ok((status["state"] == "done").then_some(status))
    })
    .await
    .expect("done");
    assert_eq!(status["attempts"], 1);

    let depth = app.queue.depth("goodwill").await.expect("depth");
    assert_eq!((depth.backlog, depth.dead), (0, 0));
    worker.stop().await.expect("clean stop");
    app.teardown().await.expect("teardown");
}

fn job(action_id: Uuid, user_id: Uuid, loves_value: i32) -> RecordGoodwill {
    RecordGoodwill {
        action_id,
        user_id,
        action_type: "volunteering".into(),
        description: "Fixed a bike".into(),
        loves_value,
        occurred_at: chrono::Utc::now(),
        context: serde_json::Map::new(),
        requested_by: user_id,
        requested_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn applying_the_same_action_twice_changes_nothing_the_second_time() {
    let app = spawn_app().await.expect("app");
    let (action, user) = (Uuid::now_v7(), Uuid::now_v7());

    let first = apply(&app.db.pool, &job(action, user, 7))
        .await
        .expect("first");
    let second = apply(&app.db.pool, &job(action, user, 7))
        .await
        .expect("second");

    assert_eq!((first, second), (Applied::Done, Applied::AlreadyApplied));
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM wallets WHERE user_id = $1")
        .bind(user)
        .fetch_one(&app.db.pool)
        .await
        .expect("balance");
    assert_eq!(balance, 7);
    assert_eq!(
        count(&app.db.pool, "SELECT count(*) FROM ledger_entries").await,
        1
    );
    assert_eq!(
        count(&app.db.pool, "SELECT count(*) FROM audit_log").await,
        1
    );
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_action_delivered_as_two_jobs_through_the_queue_has_one_effect() {
    let app = spawn_app().await.expect("app");
    let (action, user) = (Uuid::now_v7(), Uuid::now_v7());
    let payload = job(action, user, 9);
    let ids = app
        .queue
        .enqueue_batch(&[payload.clone(), payload])
        .await
        .expect("enqueue");
    let worker = app.spawn_worker(4).await.expect("worker");

    for id in &ids {
        wait_for(Duration::from_secs(20), "both deliveries done", || async {
            let status: Value = app.get(&format!("/v1/jobs/{id}")).await.json().await?;
            Ok((status["state"] == "done").then_some(()))
        })
        .await
        .expect("done");
    }

    let wallet = app.get_json(&format!("/v1/users/{user}/wallet")).await;
    assert_eq!(wallet["balance"], 9);
    assert_eq!(
        count(&app.db.pool, "SELECT count(*) FROM goodwill_actions").await,
        1
    );
    assert_books_balance(&app.db.pool).await;
    worker.stop().await.expect("stop");
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invalid_payload_is_failed_permanently_with_its_reason_and_writes_nothing() {
    let app = spawn_app().await.expect("app");
    let bad = job(Uuid::now_v7(), Uuid::now_v7(), 0);
    let id = app.queue.enqueue(&bad).await.expect("enqueue");
    let worker = app.spawn_worker(2).await.expect("worker");

    let status = wait_for(Duration::from_secs(20), "the job to die", || async {
        let status: Value = app.get(&format!("/v1/jobs/{id}")).await.json().await?;
        Ok((status["state"] == "dead").then_some(status))
    })
    .await
    .expect("dead");

    assert!(
        status["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("loves_value"),
        "{status}"
    );
    assert_eq!(status["attempts"], 1, "a permanent failure is not retried");
    assert_eq!(count(&app.db.pool, "SELECT count(*) FROM users").await, 0);
    worker.stop().await.expect("stop");
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_serves_health_and_metrics_and_stops_cleanly() {
    let app = spawn_app().await.expect("app");
    let worker = app.spawn_worker(2).await.expect("worker");
    let token = app.token(Uuid::now_v7(), Role::Member);
    app.post_json(
        "/v1/goodwill-actions",
        Some(&token),
        &json!({
            "action_type": "teaching", "description": "Taught a class", "loves_value": 4
        }),
    )
    .await;
    wait_for(Duration::from_secs(20), "one committed action", || async {
        Ok((count(&app.db.pool, "SELECT count(*) FROM goodwill_actions").await == 1).then_some(()))
    })
    .await
    .expect("committed");

    let health: Value = worker.get("/health").await.json().await.expect("json");
    assert_eq!(health["service"], "coin-worker");
    assert_eq!(health["status"], "ok");
    let metrics = worker.get("/metrics").await.text().await.expect("text");
    assert!(metrics.contains("coin_jobs_completed_total"), "{metrics}");
    assert!(metrics.contains("coin_job_duration_seconds"), "{metrics}");
    worker.stop().await.expect("a clean stop");
    app.teardown().await.expect("teardown");
}
