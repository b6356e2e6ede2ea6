//! No job lost, no effect doubled: real worker processes killed and stopped, Postgres cut off,
//! Redis crashed, permanent failures replayed.

use std::time::{Duration, Instant};

use coin_shared::queue::{JobId, JobPhase};
use coin_tests::{
    TestApp, TokenRole as Role, assert_dead_because,
    chaos::{Proxy, RedisServer, terminate},
    goodwill_body, header, spawn_app, spawn_app_with, wait_for,
};
use serde_json::{Value, json};
use uuid::Uuid;

use coin_tests::goodwill_jobs as jobs;

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.pool)
        .await
        .expect(sql)
}

async fn wait_for_actions(app: &TestApp, n: i64, within: Duration) {
    wait_for(within, &format!("{n} committed actions"), || async {
        Ok((count(app, "SELECT count(*) FROM goodwill_actions").await >= n).then_some(()))
    })
    .await
    .expect("actions committed");
}

/// Every wallet equals its ledger and its actions; `n` actions, `n` ledger entries.
async fn assert_exactly_once(app: &TestApp, n: i64) {
    assert_eq!(count(app, "SELECT count(*) FROM goodwill_actions").await, n);
    assert_eq!(count(app, "SELECT count(*) FROM ledger_entries").await, n);
    let wrong = count(
        app,
        "SELECT count(*) FROM wallets w
         WHERE w.balance <> (SELECT COALESCE(sum(amount), 0) FROM ledger_entries l WHERE l.wallet_id = w.id)
            OR w.balance <> (SELECT COALESCE(sum(loves_value), 0) FROM goodwill_actions a WHERE a.performer_user_id = w.user_id)",
    )
    .await;
    assert_eq!(wrong, 0, "every balance equals its ledger and its actions");
}

/// An app with `n` goodwill jobs for `users` new users already queued; returns their ids.
async fn app_with_backlog(users: usize, n: usize) -> (TestApp, Vec<JobId>) {
    let app = spawn_app().await.expect("app");
    let users: Vec<Uuid> = (0..users).map(|_| Uuid::now_v7()).collect();
    let ids = app
        .queue
        .enqueue_batch(&jobs(n, &users))
        .await
        .expect("enqueue");
    (app, ids)
}

/// Small batches, one at a time: work stays in flight long enough to interrupt it.
const SMALL_BATCHES: [(&str, &str); 2] = [
    ("GOODWILL_BATCH_SIZE", "25"),
    ("GOODWILL_BATCH_PARALLEL", "1"),
];

/// Asserts a replay of dead job `job_id` as `token` answers `status`.
async fn replay(app: &TestApp, job_id: &str, token: &str, status: u16, why: &str) {
    let replay = app
        .client
        .post(format!("{}/v1/dead-jobs/{job_id}/replay", app.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status().as_u16(), status, "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_job_loses_nothing_and_doubles_nothing() {
    let (app, _) = app_with_backlog(100, 5_000).await;
    let slow = [&SMALL_BATCHES[..], &[("GOODWILL_BATCH_LINGER_MS", "5")]].concat();
    let mut victim = app.worker_process(&slow).expect("worker 1");
    let mut survivor = app.worker_process(&slow).expect("worker 2");

    wait_for_actions(&app, 300, Duration::from_secs(30)).await;
    victim.start_kill().expect("SIGKILL");
    let killed = victim.wait().await.expect("reaped");
    assert!(!killed.success());
    let depth = app.queue.depth("goodwill").await.expect("depth");
    println!("at the kill: {depth:?}");

    wait_for_actions(&app, 5_000, Duration::from_secs(90)).await;
    wait_for(
        Duration::from_secs(30),
        "nothing left in flight",
        || async {
            let d = app.queue.depth("goodwill").await?;
            Ok((d.backlog + d.inflight + d.orphaned == 0).then_some(d))
        },
    )
    .await
    .expect("drained");
    assert_exactly_once(&app, 5_000).await;
    assert_eq!(app.queue.depth("goodwill").await.expect("depth").dead, 0);

    let stopped = terminate(&mut survivor, Duration::from_secs(30)).await;
    assert!(stopped.success(), "SIGTERM exits 0: {stopped:?}");
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_exits_zero_within_the_grace_period_and_no_job_runs_twice() {
    let (app, ids) = app_with_backlog(50, 3_000).await;
    let env = [&SMALL_BATCHES[..], &[("SHUTDOWN_GRACE_SECS", "10")]].concat();
    let mut worker = app.worker_process(&env).expect("worker");
    wait_for_actions(&app, 200, Duration::from_secs(30)).await;

    let asked = Instant::now();
    // Within the grace period, and a margin.
    let status = terminate(&mut worker, Duration::from_secs(12)).await;
    assert!(status.success(), "{status:?}");
    println!(
        "stopped {:.0} ms after SIGTERM",
        asked.elapsed().as_secs_f64() * 1e3
    );
    let after_stop = app.queue.depth("goodwill").await.expect("depth");
    assert_eq!(
        after_stop.inflight + after_stop.orphaned,
        0,
        "prefetched jobs were released: {after_stop:?}"
    );

    let mut next = app.worker_process(&[]).expect("second worker");
    wait_for_actions(&app, 3_000, Duration::from_secs(60)).await;
    assert_exactly_once(&app, 3_000).await;
    // A job re-run after a clean stop would show a second delivery.
    for id in ids.iter().step_by(7) {
        let status = wait_for(Duration::from_secs(10), "job done", || async {
            let s = app.queue.status(&["goodwill"], *id).await?;
            Ok(s.filter(|s| s.state == JobPhase::Done))
        })
        .await
        .expect("done");
        assert_eq!(status.attempts, 1, "job {id} ran {} times", status.attempts);
    }
    next.start_kill().expect("kill");
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_postgres_is_unreachable_the_api_accepts_and_workers_catch_up_losing_nothing() {
    let app = spawn_app().await.expect("app");
    let postgres = Proxy::start(([127, 0, 0, 1], 5432).into())
        .await
        .expect("proxy");
    let proxied = app
        .db
        .url
        .replacen("127.0.0.1:5432", &postgres.addr.to_string(), 1);
    assert_ne!(
        proxied, app.db.url,
        "TEST_DATABASE_URL must point at 127.0.0.1:5432 for this test"
    );
    let worker = app
        .spawn_worker_with(8, |s| {
            s.common.database.database_url = secrecy::SecretString::from(proxied.clone());
        })
        .await
        .expect("worker");
    let token = app.token(Uuid::now_v7(), Role::Service);
    let users: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    let post = |i: usize| {
        let mut body = goodwill_body((i % 50) as i64 + 1);
        body["user_id"] = json!(users[i % users.len()]);
        body
    };
    for i in 0..200 {
        let r = app
            .post_json("/v1/goodwill-actions", Some(&token), &post(i))
            .await;
        assert_eq!(r.status().as_u16(), 202);
    }
    wait_for_actions(&app, 1, Duration::from_secs(20)).await;

    postgres.cut();
    let mut during_outage = Vec::new();
    for i in 200..400 {
        let r = app
            .post_json("/v1/goodwill-actions", Some(&token), &post(i))
            .await;
        assert_eq!(
            r.status().as_u16(),
            202,
            "the API accepts while Postgres is down"
        );
        let body: Value = r.json().await.expect("json");
        during_outage.push(
            body["job_id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .map(coin_shared::queue::JobId)
                .expect("job id"),
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = app.queue.depth("goodwill").await.expect("depth");
    postgres.restore();

    wait_for_actions(&app, 400, Duration::from_secs(60)).await;
    assert_exactly_once(&app, 400).await;
    let after = app.queue.depth("goodwill").await.expect("depth");
    println!("during the outage: {during:?}; after: {after:?}");
    assert_eq!(after.dead, 0, "transient failures are retried, not buried");
    // The batcher rode the outage out: no job needed a second delivery.
    for id in during_outage.iter().step_by(20) {
        let status = app
            .queue
            .status(&["goodwill"], *id)
            .await
            .expect("status")
            .expect("known");
        assert_eq!((status.state, status.attempts), (JobPhase::Done, 1));
    }
    worker.stop().await.expect("stop");
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_redis_is_down_the_api_answers_503_fast_and_everything_recovers_without_restarts() {
    let mut redis = RedisServer::start().await.expect("redis-server");
    let url = redis.url();
    let app =
        spawn_app_with(|s| s.common.redis.redis_url = secrecy::SecretString::from(url.clone()))
            .await
            .expect("app");
    let worker = app.spawn_worker(4).await.expect("worker");
    let token = app.token(Uuid::now_v7(), Role::Member);
    let first = app
        .accepted("/v1/goodwill-actions", &token, &goodwill_body(3))
        .await;
    assert_eq!(app.settled(&first).await["state"], "done");

    redis.stop().await.expect("stop redis");
    let asked = Instant::now();
    let refused = app
        .post_json("/v1/goodwill-actions", Some(&token), &goodwill_body(4))
        .await;
    let took = asked.elapsed();
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(header(&refused, "retry-after"), Some("1"));
    assert!(took < Duration::from_secs(1), "answered in {took:?}");
    let health = app.get("/health").await;
    assert_eq!(health.status().as_u16(), 503);
    let report: Value = health.json().await.expect("json");
    assert_eq!(
        (report["redis"].as_str(), report["postgres"].as_str()),
        (Some("down"), Some("up"))
    );
    // Readiness fails, liveness does not: Kubernetes takes the pods out of service without
    // restarting them.
    let live = app.get_json("/livez").await;
    assert_eq!(
        (live["status"].as_str(), live["service"].as_str()),
        (Some("alive"), Some("coin-api"))
    );
    assert_eq!(worker.get("/health").await.status().as_u16(), 503);
    let worker_live = worker.get("/livez").await;
    assert_eq!(worker_live.status().as_u16(), 200);
    let worker_live: Value = worker_live.json().await.expect("json");
    assert_eq!(worker_live["service"], "coin-worker");

    redis.restart().await.expect("restart redis");
    let accepted = wait_for(
        Duration::from_secs(20),
        "the API to accept again",
        || async {
            let r = app
                .post_json("/v1/goodwill-actions", Some(&token), &goodwill_body(5))
                .await;
            Ok(if r.status().as_u16() == 202 {
                Some(r.json::<Value>().await?)
            } else {
                None
            })
        },
    )
    .await
    .expect("accepting again");
    assert_eq!(
        app.settled(&accepted).await["state"],
        "done",
        "the same worker picks it up"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM goodwill_actions").await,
        2
    );
    worker.stop().await.expect("stop");
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_permanently_failing_job_is_dead_with_its_reason_and_succeeds_once_when_replayed_after_the_fix()
 {
    let app = spawn_app().await.expect("app");
    let worker = app.spawn_worker(2).await.expect("worker");
    let council = app.token(Uuid::now_v7(), Role::Council);
    let operator = app.token(Uuid::now_v7(), Role::Operator);
    let proposal = app
        .proposal(&council, "Repair the well", "Before winter")
        .await;
    let voter = app.token(Uuid::now_v7(), Role::Member);
    let vote = app
        .accepted(
            &format!("/v1/proposals/{proposal}/votes"),
            &voter,
            &json!({"choice": "FOR"}),
        )
        .await;
    assert_dead_because(&app.settled(&vote).await, "DRAFT");
    let job_id = vote["job_id"].as_str().expect("job id").to_owned();

    let listed =
        std::process::Command::new(coin_tests::chaos::binary("coin-worker").expect("binary"))
            .args(["dead", "list", "--queue", "votes"])
            .env("REDIS_URL", &app.redis_url)
            .env("QUEUE_NAMESPACE", &app.namespace)
            .output()
            .expect("coin-worker dead list");
    let listing = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success() && listing.contains(&job_id) && listing.contains("DRAFT"),
        "{listing}"
    );

    // The fix: open the proposal. Then replay the same job id.
    app.open(&council, &proposal).await;
    replay(&app, &job_id, &operator, 202, "a dead job is replayed").await;
    assert_eq!(app.settled(&vote).await["state"], "done");
    let tally = app.get_json(&format!("/v1/proposals/{proposal}")).await["tally"].clone();
    assert_eq!(tally["for"], 1);

    replay(
        &app,
        &job_id,
        &operator,
        404,
        "a job that is no longer dead is not replayed",
    )
    .await;
    let member = app
        .client
        .get(format!("{}/v1/dead-jobs", app.address))
        .bearer_auth(&voter)
        .send()
        .await
        .expect("list");
    assert_eq!(member.status().as_u16(), 403);
    worker.stop().await.expect("stop");
    app.teardown().await.expect("teardown");
}
