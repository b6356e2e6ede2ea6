//! `coin-bench --queue-ops N`: the operator reads against a queue holding N jobs (1,000,000 in
//! docs/benchmarks.md). It fills the `goodwill` queue with N real payloads, then prints:
//! Redis memory per queued job; the depth round trip with its latency read; the first page of `GET /v1/jobs` (unfiltered, and filtered by kind and user) and one
//! `GET /v1/queues`, over HTTP against the release `coin-api`; every console page as the release
//! `coin-controller` renders it with the queue that full; then it drains the queue with
//! the release workers and prints Redis memory per finished job's record (kept
//! `JOB_RESULT_TTL_SECS`, one hour by default).

use std::time::{Duration, Instant};

use anyhow::Context;
use coin_shared::{
    config::RedisSettings,
    jobs::RecordGoodwill,
    queue::{JobQueue, QueueDepth},
};
use futures::{StreamExt, TryStreamExt, stream};
use redis::aio::ConnectionManager;
use uuid::Uuid;

use crate::procs::Procs;

/// `GET url` with the header `name: value`, `n` times after one warm-up: p50 and p99 in ms.
async fn get_rounds(
    client: &reqwest::Client,
    url: &str,
    name: reqwest::header::HeaderName,
    value: &str,
    n: usize,
) -> anyhow::Result<(f64, f64)> {
    let get = || async {
        let response = client.get(url).header(&name, value).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET {url}: {}",
            response.status()
        );
        response.bytes().await?;
        Ok(())
    };
    get().await?;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        times.push(timed(get()).await?);
    }
    Ok(percentiles(times))
}

/// The console pages the bench renders with the queue full (20 times each, after one).
const CONSOLE_PAGES: [&str; 8] = [
    "/",
    "/queues",
    "/jobs?state=queued&queue=goodwill",
    "/workers",
    "/autoscaler",
    "/schedules",
    "/webhooks",
    "/governance",
];

/// Signs in to the console at `base` with an operator `token`; the session cookie to send.
async fn console_session(base: &str, token: &str) -> anyhow::Result<String> {
    // The sign-in answers 303 with the cookie: not followed, so the cookie is seen.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = client
        .post(format!("{base}/login"))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(format!("token={token}"))
        .send()
        .await?;
    let cookie = response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .context("the console set no session cookie")?;
    Ok(cookie.to_owned())
}

/// Redis' `used_memory`, in bytes.
async fn used_memory(conn: &mut ConnectionManager) -> anyhow::Result<i64> {
    let info: String = redis::cmd("INFO").arg("memory").query_async(conn).await?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .context("INFO memory without used_memory")
}

/// p50 and p99 of some durations, in milliseconds.
fn percentiles(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    let at = |q: f64| {
        d.get(((d.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |x| x.as_secs_f64() * 1e3)
    };
    (at(0.5), at(0.99))
}

async fn timed<T, F: Future<Output = anyhow::Result<T>>>(f: F) -> anyhow::Result<Duration> {
    let t = Instant::now();
    f.await?;
    Ok(t.elapsed())
}

/// Runs the operator benchmark on a fresh namespace of `redis` and the database `db_url`.
pub async fn run(jobs: usize, db_url: &str, redis: &str, namespace: &str) -> anyhow::Result<()> {
    let settings = RedisSettings {
        redis_url: redis.to_owned().into(),
        queue_namespace: namespace.to_owned(),
        redis_response_timeout_ms: 30_000,
        redis_connect_timeout_ms: 1_000,
    };
    let queue = JobQueue::new(&settings)?;
    let mut conn = queue.connection();
    let users: Vec<Uuid> = (0..1_000).map(|_| Uuid::now_v7()).collect();
    let needle = users[7];

    let before = used_memory(&mut conn).await?;
    let fill = Instant::now();
    stream::iter((0..jobs).step_by(1_000))
        .map(|start| {
            let batch = goodwill_jobs(start, (start + 1_000).min(jobs), &users);
            let queue = queue.clone();
            async move { queue.enqueue_batch(&batch).await.map(drop) }
        })
        .buffer_unordered(4)
        .try_collect::<Vec<_>>()
        .await?;
    let fill_time = fill.elapsed();
    let queued_memory = used_memory(&mut conn).await? - before;

    // Depth round trip (one script call, after the read of the worker names).
    let mut times = Vec::new();
    let mut depth = QueueDepth::default();
    for _ in 0..200 {
        let t = Instant::now();
        depth = queue.depth("goodwill").await?;
        times.push(t.elapsed());
    }
    let (depth50, depth99) = percentiles(times);

    // The operator routes over HTTP.
    let mut procs = Procs::new(db_url, redis, namespace)?;
    let api = procs.start_api().await?;
    let token = procs.token_as("operator")?;
    let client = reqwest::Client::new();
    let bearer = format!("Bearer {token}");
    let api_rounds = |path: String| {
        let url = format!("{api}{path}");
        let (client, bearer) = (&client, &bearer);
        async move { get_rounds(client, &url, reqwest::header::AUTHORIZATION, bearer, 50).await }
    };
    let page = api_rounds("/v1/jobs?queue=goodwill&state=queued&limit=50".into()).await?;
    let filtered = api_rounds(format!(
        "/v1/jobs?queue=goodwill&state=queued&kind=record_goodwill&user_id={needle}&limit=50"
    ))
    .await?;
    let overview = api_rounds("/v1/queues".into()).await?;

    // The console's pages, rendered by the release controller with the same queue.
    let console = procs.start_controller().await?;
    let cookie = console_session(&console, &procs.token_as("operator")?).await?;
    let mut pages = Vec::new();
    for path in CONSOLE_PAGES {
        let url = format!("{console}{path}");
        let times = get_rounds(&client, &url, reqwest::header::COOKIE, &cookie, 20).await?;
        pages.push((path, times));
    }

    // Drain with the release workers; what stays is one finished record per job.
    let drain = Instant::now();
    procs.start_worker()?;
    procs.start_worker()?;
    loop {
        let d = queue.depth("goodwill").await?;
        if d.done >= jobs as u64 {
            break;
        }
        anyhow::ensure!(
            drain.elapsed() < Duration::from_secs(900),
            "drain did not finish: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let drain_time = drain.elapsed();
    procs.stop().await;
    let finished_memory = used_memory(&mut conn).await? - before;

    println!("queue operations with {jobs} goodwill jobs queued (one Redis, this machine)");
    println!("{:<58} {:>16}", "measure", "figure");
    let row = |what: &str, figure: String| println!("{what:<58} {figure:>16}");
    row(
        "fill (enqueue_batch, 1,000 per call, 4 in flight)",
        format!("{:.0} jobs/s", jobs as f64 / fill_time.as_secs_f64()),
    );
    row(
        "Redis memory per queued job",
        format!("{:.0} B", queued_memory as f64 / jobs as f64),
    );
    row(
        "depth read (with latency), p50 / p99",
        format!("{depth50:.2} / {depth99:.2} ms"),
    );
    row(
        "  latency the read reported",
        format!("{:.1} s", depth.latency_secs),
    );
    row(
        "GET /v1/jobs first page (50), p50 / p99",
        format!("{:.2} / {:.2} ms", page.0, page.1),
    );
    row(
        "GET /v1/jobs by kind + user (≤5,000 looked at), p50 / p99",
        format!("{:.2} / {:.2} ms", filtered.0, filtered.1),
    );
    row(
        "GET /v1/queues (6 queues), p50 / p99",
        format!("{:.2} / {:.2} ms", overview.0, overview.1),
    );
    for (path, (p50, p99)) in &pages {
        row(
            &format!("console GET {path}, p50 / p99"),
            format!("{p50:.2} / {p99:.2} ms"),
        );
    }
    row(
        "drain by 2 release workers",
        format!("{:.0} jobs/s", jobs as f64 / drain_time.as_secs_f64()),
    );
    row(
        "Redis memory per finished job's record (kept 1 h)",
        format!("{:.0} B", finished_memory as f64 / jobs as f64),
    );
    queue.purge_namespace().await?;
    Ok(())
}

/// Goodwill jobs `from..to` spread over `users`, as the API would enqueue them.
fn goodwill_jobs(from: usize, to: usize, users: &[Uuid]) -> Vec<RecordGoodwill> {
    (from..to)
        .map(|i| {
            let user = users[i % users.len()];
            RecordGoodwill {
                action_id: Uuid::now_v7(),
                user_id: user,
                action_type: "volunteering".into(),
                description: "Benchmark action".into(),
                loves_value: (i % 100) as i32 + 1,
                occurred_at: chrono::Utc::now(),
                context: serde_json::Map::new(),
                requested_by: user,
                requested_at: chrono::Utc::now(),
            }
        })
        .collect()
}
