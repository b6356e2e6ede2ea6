//! `coin-bench`: the goodwill pipeline measured end to end on this machine.
//!
//! ```text
//! cargo build --release -p coin-api -p coin-worker -p coin-bench
//! target/release/coin-bench [--single 20000] [--bulk 200000] [--e2e 100000] [--workers 2]
//! target/release/coin-bench --queue-ops 1000000   # operator reads and memory per job
//! target/release/coin-bench autoscale --trace step --policy all --minutes 2   # issue 17
//! ```
//! It creates its own database and Redis namespace, starts the release `coin-api` and
//! `coin-worker` binaries found next to itself, and prints: the pgbench single-row baseline,
//! single-POST ingest (rate, p50/p99, and p99 at half that rate), bulk ingest, the drain of the
//! pre-filled queue by K workers, the end-to-end rate with everything running, peak RSS, and
//! whether every wallet balance equals its ledger and its actions. All traffic stays on
//! 127.0.0.1; every loop is bounded.

mod autoscale;
mod books;
mod load;
mod procs;
mod queue_ops;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Parser;
use futures::{StreamExt, TryStreamExt, stream};
use hyper::body::Bytes;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use coin_shared::db::ScratchDatabase;

use crate::{
    books::Books,
    procs::{Procs, peak_rss_mb},
};

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "coin-bench",
    about = "Measure the goodwill pipeline end to end",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// What to measure; without one, the pipeline benchmark.
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    pipeline: Args,
}

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The autoscaler against KEDA + HPA and a fixed fleet (issue 17): a trace of arrivals
    /// through the real API, the real controller (process scaler, `SCALING_POLICY`) and its
    /// capped workers; latency, seconds above the SLO, replica-seconds, the books, a chart.
    Autoscale(autoscale::AutoscaleArgs),
}

/// The pipeline benchmark's options.
#[derive(Debug, clap::Args)]
struct Args {
    /// Actions posted one per request.
    #[arg(long, default_value_t = 20_000)]
    single: usize,
    /// Actions posted through the batch endpoint (1,000 per request).
    #[arg(long, default_value_t = 200_000)]
    bulk: usize,
    /// Actions posted (in batches) while the workers run, for the end-to-end rate.
    #[arg(long, default_value_t = 100_000)]
    e2e: usize,
    /// Distinct users the actions belong to.
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    /// Concurrent connections for single POSTs.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Seconds of the pgbench baseline (0 skips it).
    #[arg(long, default_value_t = 10)]
    pgbench_secs: u64,
    /// Instead of the pipeline: the operator reads (depth with latency, `GET /v1/jobs`,
    /// `GET /v1/queues`) and Redis memory per job, with this many jobs queued.
    #[arg(long)]
    queue_ops: Option<usize>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Autoscale(args)) => {
                let (admin, redis) = endpoints();
                autoscale::run(&args, &admin, &redis).await
            }
            None => run(cli.pipeline).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The admin database and the Redis the runs use (`TEST_DATABASE_URL`, `TEST_REDIS_URL`).
fn endpoints() -> (String, String) {
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    (admin, redis)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let (admin, redis) = endpoints();
    if let Some(jobs) = args.queue_ops {
        let scratch = ScratchDatabase::create(&admin, "coin_bench")
            .await
            .context("connect to TEST_DATABASE_URL")?;
        let namespace = format!("bench{}", Uuid::new_v4().simple());
        let pool = PgPool::connect(&scratch.url).await?;
        coin_shared::db::migrate(&pool).await?;
        pool.close().await;
        let result = queue_ops::run(jobs.max(1), &scratch.url, &redis, &namespace).await;
        scratch.drop().await?;
        return result;
    }
    let pgbench = if args.pgbench_secs > 0 {
        pgbench_baseline(&admin, args.pgbench_secs).await?
    } else {
        None
    };

    let scratch = ScratchDatabase::create(&admin, "coin_bench")
        .await
        .context("connect to TEST_DATABASE_URL")?;
    let namespace = format!("bench{}", Uuid::new_v4().simple());
    let result = measure(&args, &scratch.url, &redis, &namespace, pgbench).await;
    scratch.drop().await?;
    let queue = coin_shared::queue::JobQueue::new(&coin_shared::config::RedisSettings {
        redis_url: redis.clone().into(),
        queue_namespace: namespace,
        redis_response_timeout_ms: 30_000,
        redis_connect_timeout_ms: 1_000,
    })?;
    queue.purge_namespace().await?;
    result
}

async fn measure(
    args: &Args,
    db_url: &str,
    redis: &str,
    namespace: &str,
    pgbench: Option<f64>,
) -> anyhow::Result<()> {
    let pool = PgPool::connect(db_url).await?;
    coin_shared::db::migrate(&pool).await?;
    let mut procs = Procs::new(db_url, redis, namespace)?;
    let api = procs.start_api().await?;
    let token = procs.token()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let users: Arc<Vec<Uuid>> = Arc::new((0..args.users).map(|_| Uuid::now_v7()).collect());
    let action = |i: usize| {
        json!({
            "user_id": users[i % users.len()],
            "action_type": "volunteering",
            "description": "Benchmark action",
            "loves_value": (i % 100) + 1,
        })
    };
    let post = |body: Value, path: &'static str| {
        let (client, token, api) = (client.clone(), token.clone(), api.clone());
        async move {
            let t = Instant::now();
            let response = client
                .post(format!("{api}{path}"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?;
            let status = response.status().as_u16();
            if status != 202 {
                bail!(
                    "{path} answered {status}: {}",
                    response.text().await.unwrap_or_default()
                );
            }
            Ok::<_, anyhow::Error>(t.elapsed())
        }
    };

    // 1. Single POSTs, closed loop over `connections` keep-alive connections; the bodies are
    // serialized before the clock starts so the client spends its time on the wire.
    let target = load::Target::new(&api, &token, "/v1/goodwill-actions")?;
    let bodies = |range: std::ops::Range<usize>| -> anyhow::Result<Arc<Vec<Bytes>>> {
        Ok(Arc::new(
            range
                .map(|i| serde_json::to_vec(&action(i)).map(Bytes::from))
                .collect::<Result<_, _>>()?,
        ))
    };
    let (mut latencies, single_time) =
        load::closed_loop(&target, bodies(0..args.single)?, args.connections).await?;
    let single_rate = args.single as f64 / single_time.as_secs_f64();
    latencies.sort();

    // 2. Open loop at half that rate for 5 s: the latency a client sees below saturation.
    let half = (single_rate / 2.0).max(1.0);
    let count = (half * 5.0) as usize;
    let mut half_latencies = load::open_loop(
        &target,
        bodies(args.single..args.single + count)?,
        args.connections,
        half,
    )
    .await?;
    half_latencies.sort();
    let coalescing = push_coalescing(&client, &api).await?;

    // Actions `first..first + n` through the batch endpoint, 1,000 per request, 4 at a time.
    let post_in_batches = |first: usize, n: usize| {
        let batches: Vec<Value> = (0..n)
            .step_by(1_000)
            .map(|start| json!({"actions": (start..(start + 1_000).min(n)).map(|i| action(first + i)).collect::<Vec<_>>()}))
            .collect();
        let post = &post;
        async move {
            stream::iter(batches)
                .map(|b| post(b, "/v1/goodwill-actions:batch"))
                .buffer_unordered(4)
                .try_collect::<Vec<_>>()
                .await
                .map(drop)
        }
    };

    // 3. Bulk.
    let offset = args.single + count;
    let t = Instant::now();
    post_in_batches(offset, args.bulk).await?;
    let bulk_secs = t.elapsed().as_secs_f64();
    let queued = offset + args.bulk;

    // 4 and 5 need workers; `--workers 0` measures ingest only.
    let mut run = None;
    if args.workers > 0 {
        // 4. Drain of the pre-filled queue by K worker processes.
        let t = Instant::now();
        for _ in 0..args.workers {
            procs.start_worker()?;
        }
        wait_for_rows(&pool, queued as i64, Duration::from_secs(600)).await?;
        let drain_secs = t.elapsed().as_secs_f64();

        // 5. End to end: batches posted while the workers run, until all are committed.
        let t = Instant::now();
        post_in_batches(queued, args.e2e).await?;
        wait_for_rows(&pool, (queued + args.e2e) as i64, Duration::from_secs(600)).await?;
        run = Some((drain_secs, t.elapsed().as_secs_f64()));
    }
    let total = (queued + if run.is_some() { args.e2e } else { 0 }) as i64;

    // 6. Peak memory, then 7. the books.
    let api_rss = procs.api_pid().and_then(peak_rss_mb);
    let worker_rss: Vec<f64> = procs
        .worker_pids()
        .into_iter()
        .filter_map(peak_rss_mb)
        .collect();
    let books = Books::read(&pool).await?;
    let Books {
        actions,
        ledger,
        wrong,
    } = books;
    procs.stop().await;

    let pct = |v: &[Duration], p: f64| v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "\nPeople's Coin pipeline benchmark ({} users, {} worker process(es))",
        args.users, args.workers
    );
    println!("{:<46} {:>14}", "measure", "figure");
    if let Some(tps) = pgbench {
        println!(
            "{:<46} {:>10.0} tx/s",
            "pgbench baseline: 1-row insert per tx, 8 clients", tps
        );
    }
    println!(
        "{:<46} {:>10.0} /s",
        format!(
            "single POSTs ({} over {} connections)",
            args.single, args.connections
        ),
        single_rate
    );
    println!(
        "{:<46} {:>10.2} ms / {:.2} ms",
        "  latency p50 / p99",
        pct(&latencies, 0.5),
        pct(&latencies, 0.99)
    );
    println!(
        "{:<46} {:>10.2} ms / {:.2} ms",
        format!("  p50 / p99 at half that rate ({half:.0}/s)"),
        pct(&half_latencies, 0.5),
        pct(&half_latencies, 0.99)
    );
    if let Some((calls, jobs)) = coalescing {
        println!(
            "{:<46} {:>10.1}",
            format!("  jobs per Redis script call ({jobs} in {calls})"),
            jobs as f64 / calls.max(1) as f64
        );
    }
    println!(
        "{:<46} {:>10.0} /s",
        format!("bulk endpoint ({} actions, 1,000 per request)", args.bulk),
        args.bulk as f64 / bulk_secs
    );
    if let Some((drain_secs, e2e_secs)) = run {
        println!(
            "{:<46} {:>10.0} jobs/s",
            format!("drain of {queued} queued jobs"),
            queued as f64 / drain_secs
        );
        if let Some(tps) = pgbench {
            println!(
                "{:<46} {:>10.1} ×",
                "  drain / pgbench single-row tx",
                queued as f64 / drain_secs / tps
            );
        }
        println!(
            "{:<46} {:>10.0} /s",
            format!("end to end ({} actions posted and committed)", args.e2e),
            args.e2e as f64 / e2e_secs
        );
    }
    println!(
        "{:<46} {:>10}",
        "peak RSS coin-api",
        api_rss
            .map(|m| format!("{m:.1} MB"))
            .unwrap_or_else(|| "?".into())
    );
    for (i, rss) in worker_rss.iter().enumerate() {
        println!(
            "{:<46} {:>10.1} MB",
            format!("peak RSS coin-worker #{}", i + 1),
            rss
        );
    }
    if run.is_none() {
        println!("ingest only (--workers 0): nothing drained, the books are not checked");
        return Ok(());
    }
    println!(
        "{:<46} {:>10}",
        "actions / ledger entries committed",
        format!("{actions} / {ledger} of {total}")
    );
    println!(
        "{:<46} {:>10}",
        "wallets whose balance ≠ ledger or actions", wrong
    );
    if !books.balanced(total) {
        bail!(
            "the books do not balance: {actions} actions, {ledger} ledger entries, {wrong} wrong wallets, {total} expected"
        );
    }
    println!(
        "verified: every action committed exactly once, every balance equals its ledger and its actions"
    );
    Ok(())
}

/// The API's coalescing counters for the goodwill queue: (script calls, jobs they carried).
async fn push_coalescing(
    client: &reqwest::Client,
    api: &str,
) -> anyhow::Result<Option<(u64, u64)>> {
    let text = client
        .get(format!("{api}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let value = |name: &str| {
        let series = format!(r#"{name}{{queue="goodwill"}} "#);
        text.lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Ok(value("coin_enqueue_script_calls_total").zip(value("coin_enqueue_coalesced_jobs_total")))
}

async fn wait_for_rows(pool: &PgPool, n: i64, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let done = sqlx::query_scalar!(r#"SELECT count(*) AS "done!" FROM goodwill_actions"#)
            .fetch_one(pool)
            .await?;
        if done >= n {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {done} of {n} actions committed after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `pgbench`, 8 clients inserting one row per transaction into a scratch database.
async fn pgbench_baseline(admin: &str, secs: u64) -> anyhow::Result<Option<f64>> {
    let Ok(path) = which("pgbench") else {
        println!(
            "pgbench not found (Debian: apt-get install postgresql-contrib or postgresql-client): baseline skipped"
        );
        return Ok(None);
    };
    let scratch = ScratchDatabase::create(admin, "coin_bench_pg").await?;
    let (name, url) = (&scratch.name, &scratch.url);
    let mut db = PgConnection::connect(url).await?;
    sqlx::query!(
        "CREATE TABLE t (id bigserial PRIMARY KEY, user_id int, v int, at timestamptz DEFAULT now())"
    )
    .execute(&mut db)
    .await?;
    db.close().await?;
    let script = std::env::temp_dir().join(format!("{name}.sql"));
    std::fs::write(
        &script,
        "INSERT INTO t (user_id, v) VALUES (random() * 1000, 1);\n",
    )?;
    let output = tokio::process::Command::new(path)
        .args(["-n", "-c", "8", "-j", "2", "-T", &secs.to_string(), "-f"])
        .arg(&script)
        .arg(url)
        .output()
        .await?;
    let _ = std::fs::remove_file(&script);
    scratch.drop().await?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse().ok()))
}

fn which(name: &str) -> anyhow::Result<std::path::PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("{name} not on PATH"))
}
