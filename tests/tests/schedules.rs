//! Scheduled jobs with a one-second cron, each run by two workers at once: auto-close,
//! distribution (10,000 wallets), reconciliation and retention take effect once per tick.

use std::time::Duration;

use coin_tests::{TestApp, TestWorker, TokenRole as Role, goodwill_body, spawn_app, wait_for};
use coin_worker::{
    schedules::distribution::{self, POOL_WALLET_ID, Plan},
    settings::WorkerSettings,
};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const EVERY_SECOND: &str = "* * * * * *";

async fn two_workers(
    app: &TestApp,
    configure: fn(&mut WorkerSettings),
) -> (TestWorker, TestWorker) {
    let a = app.spawn_worker_with(4, configure).await.expect("worker a");
    let b = app.spawn_worker_with(4, configure).await.expect("worker b");
    (a, b)
}

async fn stop(workers: (TestWorker, TestWorker)) {
    workers.0.stop().await.expect("stop a");
    workers.1.stop().await.expect("stop b");
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_proposal_is_closed_once_with_its_final_tally_by_two_workers() {
    let app = spawn_app().await.expect("app");
    let workers = two_workers(&app, |s| {
        s.schedules.cron.auto_close_cron = EVERY_SECOND.into()
    })
    .await;
    let council = app.token(Uuid::now_v7(), Role::Council);
    let ends = chrono::Utc::now() + chrono::Duration::seconds(4);
    let created = app
        .applied(
            "/v1/proposals",
            &council,
            &json!({"title": "Benches", "description": "For the park", "vote_end_time": ends}),
        )
        .await;
    let id = created["proposal_id"].as_str().expect("id").to_owned();
    app.open(&council, &id).await;
    let member = app.token(Uuid::now_v7(), Role::Member);
    app.applied(
        &format!("/v1/proposals/{id}/votes"),
        &member,
        &json!({"choice": "FOR"}),
    )
    .await;

    let proposal = wait_for(Duration::from_secs(20), "the automatic close", || async {
        let p = app.get_json(&format!("/v1/proposals/{id}")).await;
        Ok((p["status"] == "CLOSED").then_some(p))
    })
    .await
    .expect("closed");
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop(workers).await;

    let closes = scalar(
        &app.db.pool,
        &format!("SELECT count(*) FROM audit_log WHERE action_type = 'PROPOSAL_CLOSED' AND subject_id = '{id}'"),
    )
    .await;
    assert_eq!(closes, 1);
    let stored: serde_json::Value =
        sqlx::query_scalar("SELECT final_result FROM proposals WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("final_result");
    assert_eq!(stored["for"], 1, "{stored} / {proposal}");
    let claimed_twice = scalar(
        &app.db.pool,
        "SELECT count(*) FROM (SELECT tick FROM schedule_runs WHERE schedule = 'auto_close'
                              GROUP BY tick HAVING count(DISTINCT worker_id) > 1) t",
    )
    .await;
    assert_eq!(claimed_twice, 0);
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_distribution_over_10000_wallets_credits_each_once_per_period_and_never_overdraws_the_pool()
 {
    const WALLETS: i64 = 10_000;
    const AMOUNT: i64 = 5;
    let app = spawn_app().await.expect("app");
    let pool = &app.db.pool;
    sqlx::query(
        "WITH u AS (INSERT INTO users (id, created_at)
                    SELECT gen_random_uuid(), now() - interval '1 minute' FROM generate_series(1, $1)
                    RETURNING id, created_at)
         INSERT INTO wallets (user_id, created_at) SELECT id, created_at FROM u",
    )
    .bind(WALLETS)
    .execute(pool)
    .await
    .expect("wallets");
    // Funds for exactly two periods, and 7 points to spare.
    let funds = WALLETS * AMOUNT * 2 + 7;
    let mut conn = pool.acquire().await.expect("conn");
    distribution::ensure_pool(&mut conn).await.expect("pool");
    sqlx::query(
        "WITH e AS (INSERT INTO ledger_entries (wallet_id, amount, kind, reference_id, description)
                    VALUES ($1, $2, 'ADJUSTMENT', gen_random_uuid(), 'funding') RETURNING amount)
         UPDATE wallets SET balance = balance + (SELECT amount FROM e) WHERE id = $1",
    )
    .bind(POOL_WALLET_ID)
    .bind(funds)
    .execute(&mut *conn)
    .await
    .expect("funding");
    drop(conn);

    let workers = two_workers(&app, |s| {
        s.schedules.cron.distribution_cron = EVERY_SECOND.into();
        s.schedules.distribution_amount = 5;
        s.schedules.distribution_chunk = 1_000;
    })
    .await;
    wait_for(
        Duration::from_secs(90),
        "two periods paid and one refused",
        || async {
            let (completed, refused, open): (i64, i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE status = 'COMPLETED'),
                    count(*) FILTER (WHERE status = 'INSUFFICIENT_FUNDS'),
                    count(*) FILTER (WHERE status = 'IN_PROGRESS')
             FROM distribution_periods",
            )
            .fetch_one(pool)
            .await?;
            Ok((completed == 2 && refused >= 1 && open == 0).then_some(()))
        },
    )
    .await
    .expect("distributed");
    stop(workers).await;

    let periods: Vec<(String, i64, i32)> = sqlx::query_as(
        "SELECT period_key, wallets, chunks FROM distribution_periods WHERE status = 'COMPLETED'",
    )
    .fetch_all(pool)
    .await
    .expect("periods");
    assert!(
        periods.iter().all(|(_, w, c)| *w == WALLETS && *c == 10),
        "{periods:?}"
    );
    let credited_twice_each = scalar(
        pool,
        &format!(
            "SELECT count(*) FROM wallets w WHERE w.id <> '{POOL_WALLET_ID}' AND w.balance = 10
               AND (SELECT count(*) FROM ledger_entries l WHERE l.wallet_id = w.id AND l.kind = 'DISTRIBUTION') = 2"
        ),
    )
    .await;
    assert_eq!(credited_twice_each, WALLETS);
    let pool_balance = scalar(
        pool,
        &format!("SELECT balance FROM wallets WHERE id = '{POOL_WALLET_ID}'"),
    )
    .await;
    assert_eq!(pool_balance, 7);
    assert_eq!(
        scalar(pool, "SELECT sum(balance)::bigint FROM wallets").await,
        funds
    );

    // Running a paid period again changes nothing.
    let tick = chrono::DateTime::parse_from_rfc3339(&periods[0].0)
        .expect("key")
        .with_timezone(&chrono::Utc);
    let again = distribution::start(
        pool,
        tick,
        Plan {
            amount: 5,
            chunk: 1_000,
        },
    )
    .await
    .expect("start");
    assert_eq!(again["skipped"], "already started");
    assert!(
        coin_worker::schedules::reconciliation::wallet_mismatches(pool)
            .await
            .expect("reconcile")
            .is_empty()
    );
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconciliation_records_a_tampered_balance_and_tally_once_per_tick_and_fixes_nothing() {
    let app = spawn_app().await.expect("app");
    let worker = app.spawn_worker(4).await.expect("worker");
    let user = Uuid::now_v7();
    let member = app.token(user, Role::Member);
    app.applied("/v1/goodwill-actions", &member, &goodwill_body(9))
        .await;
    let council = app.token(Uuid::now_v7(), Role::Council);
    let id = app.proposal(&council, "Lights", "On the path").await;
    app.open(&council, &id).await;
    app.applied(
        &format!("/v1/proposals/{id}/votes"),
        &member,
        &json!({"choice": "AGAINST"}),
    )
    .await;
    app.applied(&format!("/v1/proposals/{id}/close"), &council, &json!({}))
        .await;
    worker.stop().await.expect("stop");
    let pool = &app.db.pool;
    assert!(
        coin_worker::schedules::reconciliation::tally_mismatches(pool)
            .await
            .expect("tallies")
            .is_empty(),
        "a freshly closed proposal reconciles"
    );

    sqlx::query("UPDATE wallets SET balance = balance + 1 WHERE user_id = $1")
        .bind(user)
        .execute(pool)
        .await
        .expect("tamper balance");
    sqlx::query("UPDATE proposals SET final_result = jsonb_set(final_result, '{for}', '99') WHERE id = $1::uuid")
        .bind(&id)
        .execute(pool)
        .await
        .expect("tamper tally");
    let workers = two_workers(&app, |s| {
        s.schedules.cron.reconciliation_cron = EVERY_SECOND.into()
    })
    .await;
    wait_for(Duration::from_secs(20), "three reconciliation runs", || async {
        let runs = scalar(pool, "SELECT count(DISTINCT details->>'tick') FROM audit_log WHERE action_type = 'RECONCILIATION_MISMATCH'").await;
        Ok((runs >= 3).then_some(()))
    })
    .await
    .expect("recorded");
    stop(workers).await;

    let per_tick: Vec<(String, i64)> = sqlx::query_as(
        "SELECT details->>'kind', count(*) FROM audit_log WHERE action_type = 'RECONCILIATION_MISMATCH'
         GROUP BY details->>'tick', details->>'kind'",
    )
    .fetch_all(pool)
    .await
    .expect("rows");
    assert!(
        per_tick.iter().all(|(_, n)| *n == 1),
        "one row per tick and kind: {per_tick:?}"
    );
    assert!(per_tick.iter().any(|(k, _)| k == "wallet_balance"));
    assert!(per_tick.iter().any(|(k, _)| k == "proposal_tally"));
    let (expected, actual): (serde_json::Value, serde_json::Value) = sqlx::query_as(
        "SELECT details->'expected', details->'actual' FROM audit_log
         WHERE action_type = 'RECONCILIATION_MISMATCH' AND details->>'kind' = 'wallet_balance' LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("details");
    assert_eq!((expected, actual), (json!(9), json!(10)));
    let balance = scalar(
        pool,
        &format!("SELECT balance FROM wallets WHERE user_id = '{user}'"),
    )
    .await;
    assert_eq!(balance, 10, "never fixed");
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retention_prunes_old_delivered_attempts_and_command_claims_only() {
    let app = spawn_app().await.expect("app");
    let pool = &app.db.pool;
    sqlx::query(
        "WITH e AS (INSERT INTO webhook_endpoints (id, url, event_types, secret)
                    VALUES (gen_random_uuid(), 'http://127.0.0.1:9/', '{vote.cast}', 'whsec_AAAA') RETURNING id)
         INSERT INTO webhook_deliveries (endpoint_id, event_type, payload, status, delivered_at, created_at)
         SELECT e.id, 'vote.cast', '{}', s.status::webhook_delivery_status, s.at, s.at
         FROM e, (VALUES ('DELIVERED', now() - interval '40 days'),
                         ('DELIVERED', now() - interval '1 day'),
                         ('FAILED', now() - interval '40 days')) AS s(status, at)",
    )
    .execute(pool)
    .await
    .expect("deliveries");
    sqlx::query(
        "INSERT INTO applied_commands (id, kind, applied_at)
         VALUES (gen_random_uuid(), 'OLD', now() - interval '8 days'), (gen_random_uuid(), 'NEW', now())",
    )
    .execute(pool)
    .await
    .expect("claims");

    let workers = two_workers(&app, |s| {
        s.schedules.cron.retention_cron = EVERY_SECOND.into()
    })
    .await;
    wait_for(Duration::from_secs(20), "the pruning", || async {
        let left = scalar(pool, "SELECT count(*) FROM webhook_deliveries").await;
        Ok((left == 2).then_some(()))
    })
    .await
    .expect("pruned");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop(workers).await;

    let left: Vec<String> = sqlx::query_scalar(
        "SELECT status::text || ':' || (delivered_at > now() - interval '2 days')::text
         FROM webhook_deliveries ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("left");
    assert_eq!(left, ["DELIVERED:true", "FAILED:false"]);
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM applied_commands WHERE kind IN ('OLD', 'NEW')")
            .fetch_all(pool)
            .await
            .expect("claims");
    assert_eq!(kinds, ["NEW"]);
    let twice = scalar(
        pool,
        "SELECT count(*) FROM (SELECT tick FROM schedule_runs WHERE schedule = 'retention'
                              GROUP BY tick HAVING count(*) > 1) t",
    )
    .await;
    assert_eq!(twice, 0);
    app.teardown().await.expect("teardown");
}
