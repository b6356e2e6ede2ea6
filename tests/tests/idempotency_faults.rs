//! A 202 means it will happen, on the `Idempotency-Key` path too. Faults between a key's claim
//! and its push — the Redis connection cut right at the claim, a `kill -9` of the API while
//! pushes are slow — never leave a first or replayed 202 without its job: every key retried to
//! its 202 commits exactly once. Real `coin-api` processes, real Redis and Postgres.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use coin_tests::{
    TestApp, TestWorker, TokenRole as Role,
    chaos::{ApiProcess, Proxy},
    goodwill_body, spawn_app, wait_for,
};
use serde_json::Value;
use uuid::Uuid;

/// What one POST got: a status (or none: the connection failed), the body, the replay header.
struct Answer {
    status: Option<u16>,
    body: Value,
    replayed: bool,
}

/// One POST of a goodwill action under an `Idempotency-Key`, as a client sends it.
struct Post<'a> {
    http: &'a reqwest::Client,
    /// The API's base URL.
    address: &'a str,
    token: &'a str,
    key: &'a str,
    body: &'a Value,
}

impl Post<'_> {
    /// Sends it once.
    async fn send(&self) -> Answer {
        let sent = self
            .http
            .post(format!("{}/v1/goodwill-actions", self.address))
            .bearer_auth(self.token)
            .header("Idempotency-Key", self.key)
            .json(self.body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let replayed = response.headers().contains_key("idempotent-replayed");
                let body = response.json().await.unwrap_or(Value::Null);
                Answer {
                    status: Some(status),
                    body,
                    replayed,
                }
            }
            Err(_) => Answer {
                status: None,
                body: Value::Null,
                replayed: false,
            },
        }
    }

    /// Retries it the way a client should until it answers 202, and returns that answer.
    async fn until_accepted(&self) -> Answer {
        let key = self.key;
        for _ in 0..200 {
            let answer = self.send().await;
            match answer.status {
                Some(202) => return answer,
                Some(503) | None => tokio::time::sleep(Duration::from_millis(50)).await,
                Some(other) => panic!("key {key}: a retry answered {other}: {}", answer.body),
            }
        }
        panic!("key {key} never answered 202");
    }
}

fn redis_addr() -> SocketAddr {
    let url = coin_tests::redis_url();
    let host_port = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .rsplit('@')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .to_owned();
    host_port
        .parse()
        .expect("TEST_REDIS_URL is redis://<ip>:<port>")
}

fn api_env<'a>(app: &'a TestApp, redis_url: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("DATABASE_URL", app.db.url.as_str()),
        ("REDIS_URL", redis_url),
        ("QUEUE_NAMESPACE", app.namespace.as_str()),
        ("JWT_SECRET", app.jwt_secret.as_str()),
    ]
}

/// Records a key's 202 and checks that every 202 of one key names the same action and job.
fn remember(accepted: &mut HashMap<String, Value>, key: &str, answer: &Answer) {
    assert_eq!(answer.status, Some(202));
    if let Some(first) = accepted.get(key) {
        assert_eq!(first["action_id"], answer.body["action_id"], "key {key}");
        assert_eq!(first["job_id"], answer.body["job_id"], "key {key}");
    } else {
        accepted.insert(key.to_owned(), answer.body.clone());
    }
}

/// The end of a scenario: `keys` keys accepted, each key's action committed exactly once and
/// its job `done`, every balance equal to its ledger; then the worker and the app stop.
async fn finish(app: TestApp, worker: TestWorker, accepted: &HashMap<String, Value>, keys: usize) {
    assert_eq!(accepted.len(), keys, "keys accepted");
    assert_each_committed_once(&app, accepted).await;
    worker.stop().await.expect("worker stops");
    app.teardown().await.expect("teardown");
}

async fn assert_each_committed_once(app: &TestApp, accepted: &HashMap<String, Value>) {
    let actions: Vec<Uuid> = accepted
        .values()
        .map(|b| {
            b["action_id"]
                .as_str()
                .expect("action_id")
                .parse()
                .expect("uuid")
        })
        .collect();
    let n = i64::try_from(actions.len()).expect("count");
    let count = |sql: &'static str| {
        let actions = actions.clone();
        let pool = app.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(actions)
                .fetch_one(&pool)
                .await
                .expect(sql)
        }
    };
    let committed = wait_for(Duration::from_secs(60), "every accepted action", || async {
        let done = count("SELECT count(*) FROM goodwill_actions WHERE id = ANY($1)").await;
        Ok((done >= n).then_some(done))
    })
    .await;
    let done = count("SELECT count(*) FROM goodwill_actions WHERE id = ANY($1)").await;
    assert!(
        committed.is_ok(),
        "lost: {} of {n} accepted actions never committed",
        n - done
    );
    assert_eq!(
        count("SELECT count(*) FROM ledger_entries WHERE reference_id = ANY($1)").await,
        n,
        "one ledger entry per accepted action"
    );
    let total_actions: i64 = sqlx::query_scalar("SELECT count(*) FROM goodwill_actions")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(total_actions, n, "nothing committed that was not accepted");
    let wrong: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM wallets w
         WHERE w.balance <> (SELECT COALESCE(sum(amount), 0) FROM ledger_entries l WHERE l.wallet_id = w.id)",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("balances");
    assert_eq!(wrong, 0, "every balance equals its ledger");
    for body in accepted.values() {
        let url = body["status_url"].as_str().expect("status_url");
        let status = wait_for(Duration::from_secs(30), "the job to be done", || async {
            let status: Value = app.get(url).await.json().await?;
            Ok((status["state"] == "done").then_some(status))
        })
        .await;
        assert!(status.is_ok(), "{url} is not done");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_connection_cut_at_the_claim_never_leaves_a_202_without_its_job() {
    let app = spawn_app().await.expect("app");
    let worker = app.spawn_worker(8).await.expect("worker");
    let proxy = Proxy::start(redis_addr()).await.expect("proxy");
    let proxied = format!("redis://{}", proxy.addr);
    let api = ApiProcess::start(&api_env(&app, &proxied))
        .await
        .expect("coin-api");
    let http = reqwest::Client::new();
    let user = Uuid::now_v7();
    let token = app.token(user, Role::Member);
    let mut accepted = HashMap::new();
    let mut refused_first = 0;
    // Both places the claim can break: Redis stored the claim but its answer was lost, and the
    // claim was answered but the connection died before the push (and the release).
    for (round, after_reply) in (0..200).map(|i| (i, i % 2 == 1)) {
        let key = format!("cut-{round}");
        let body = goodwill_body(1 + round % 10);
        proxy.cut_when(b"idempotency:", after_reply, Duration::from_millis(100));
        let post = Post {
            http: &http,
            address: &api.address,
            token: &token,
            key: &key,
            body: &body,
        };
        let first = post.send().await;
        assert!(proxy.fired(), "round {round}: the claim passed the proxy");
        match first.status {
            Some(202) => remember(&mut accepted, &key, &first),
            Some(503) | None => refused_first += 1,
            Some(other) => panic!("round {round}: the first try answered {other}"),
        }
        let retried = post.until_accepted().await;
        remember(&mut accepted, &key, &retried);
        // Once more: a plain replay of a settled key answers the same 202.
        let again = post.send().await;
        assert!(again.replayed, "round {round}: the third try is a replay");
        remember(&mut accepted, &key, &again);
    }
    assert!(
        refused_first > 100,
        "the cut broke the first try ({refused_first} of 200)"
    );
    api.kill().await.expect("kill");
    finish(app, worker, &accepted, 200).await;
}

/// Claims in Redis whose job the queue does not know: what a crash between claim and push
/// leaves behind.
async fn orphaned_claims(app: &TestApp) -> usize {
    let mut orphaned = 0;
    let mut conn = app.queue.connection();
    let pattern = format!("{}:idempotency:*", app.namespace);
    let names: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut conn)
        .await
        .expect("keys");
    for name in names {
        let raw: String = redis::cmd("GET")
            .arg(&name)
            .query_async(&mut conn)
            .await
            .expect("get");
        let record: Value = serde_json::from_str(&raw).expect("record");
        let job: Uuid = record["answer"]["body"]["job_id"]
            .as_str()
            .expect("job_id")
            .parse()
            .expect("uuid");
        let known = app
            .queue
            .status(&["goodwill"], coin_shared::queue::JobId(job))
            .await
            .expect("status");
        if known.is_none() {
            orphaned += 1;
        }
    }
    orphaned
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_api_while_pushes_are_slow_never_leaves_a_202_without_its_job() {
    let app = spawn_app().await.expect("app");
    let worker = app.spawn_worker(8).await.expect("worker");
    let proxy = Proxy::start(redis_addr()).await.expect("proxy");
    proxy.set_delay(Duration::from_millis(150));
    let proxied = format!("redis://{}", proxy.addr);
    let direct = app.redis_url.clone();
    let http = reqwest::Client::new();
    let users: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    let tokens: Vec<String> = users.iter().map(|u| app.token(*u, Role::Member)).collect();
    let mut accepted = HashMap::new();
    let mut orphaned_total = 0;
    for round in 0..3 {
        let api = ApiProcess::start(&api_env(&app, &proxied))
            .await
            .expect("coin-api");
        let keys: Vec<String> = (0..100).map(|i| format!("kill-{round}-{i}")).collect();
        let posts = keys.iter().enumerate().map(|(i, key)| {
            let (http, address) = (http.clone(), api.address.clone());
            let (token, key) = (tokens[i % tokens.len()].clone(), key.clone());
            tokio::spawn(async move {
                // Spread over 500 ms, so the kill finds requests at every stage.
                tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
                let answer = Post {
                    http: &http,
                    address: &address,
                    token: &token,
                    key: &key,
                    body: &goodwill_body(1 + (i as i64 % 10)),
                }
                .send()
                .await;
                (key, answer)
            })
        });
        let posts: Vec<_> = posts.collect();
        // Kill while requests sit between their claim and their push.
        tokio::time::sleep(Duration::from_millis(800 + 200 * round)).await;
        api.kill().await.expect("kill -9");
        let mut first_answers: HashMap<Option<u16>, usize> = HashMap::new();
        for post in posts {
            let (key, answer) = post.await.expect("task");
            *first_answers.entry(answer.status).or_default() += 1;
            if answer.status == Some(202) {
                remember(&mut accepted, &key, &answer);
            }
        }
        // Let the proxy deliver what the dead API had already sent.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let orphaned = orphaned_claims(&app).await;
        println!("round {round}: first answers {first_answers:?}, claims without a job {orphaned}");
        orphaned_total += orphaned;
        // A new API (straight to Redis); every client retries its key to a 202.
        let api = ApiProcess::start(&api_env(&app, &direct))
            .await
            .expect("coin-api");
        for (i, key) in keys.iter().enumerate() {
            let token = &tokens[i % tokens.len()];
            let body = goodwill_body(1 + (i as i64 % 10));
            let answer = Post {
                http: &http,
                address: &api.address,
                token,
                key,
                body: &body,
            }
            .until_accepted()
            .await;
            remember(&mut accepted, key, &answer);
        }
        api.kill().await.expect("kill");
    }
    println!("claims left without their job by the kills: {orphaned_total}");
    assert!(
        orphaned_total > 0,
        "no kill landed between a claim and its push: the scenario was not exercised"
    );
    finish(app, worker, &accepted, 300).await;
}
