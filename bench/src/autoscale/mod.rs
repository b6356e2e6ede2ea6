//! `coin-bench autoscale` (issue 17): the real controller (process scaler, one
//! `SCALING_POLICY` preset) and its `coin-worker` processes against a trace of arrivals posted
//! through the real API, on a fresh database and Redis namespace per run. Each worker is capped
//! at `--cap` goodwill jobs/s (`GOODWILL_MAX_JOBS_PER_SEC`) so that on a small machine a replica
//! is worth a fixed throughput. Prints per run the latency percentiles, the seconds above the
//! SLO, replica-seconds, the most replicas, direction changes, time from each step to the
//! replicas it needs, jobs lost and doubled, and the books; draws a chart per run.
//!
//! `schedule` turns the simulator's traces into due times, `sample` reads the run each second,
//! `metrics` computes the figures (pure), `chart` draws them, `report` prints them.

mod chart;
mod metrics;
mod report;
mod sample;
mod schedule;

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicU64},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Args;
use coin_controller::{decide::Preset, simulate::trace::Shape};
use coin_shared::{config::RedisSettings, db::ScratchDatabase, queue::JobQueue};
use hyper::body::Bytes;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    autoscale::{
        metrics::{
            breach_secs, direction_changes, max_replicas, quantile, replica_secs, time_to_replicas,
        },
        report::Run,
        sample::Sampler,
    },
    books::Books,
    load,
    procs::{Procs, worker_children},
};

/// `coin-bench autoscale`: a trace against the autoscaler under one or more policies.
#[derive(Debug, Clone, Args)]
pub struct AutoscaleArgs {
    /// Arrival trace: step, sine, burst, diurnal, or all (a comma-separated list works too).
    #[arg(long, default_value = "step", value_delimiter = ',')]
    pub trace: Vec<String>,
    /// Scaling policy (`SCALING_POLICY`): coin, keda-hpa, static-max, or all (or a list); the
    /// policies of one trace run side by side, each on its own stack, so that they share the
    /// machine's noise and a comparison is made within one run.
    #[arg(long, default_value = "all", value_delimiter = ',')]
    pub policy: Vec<String>,
    /// Run the policies of a trace one after another instead of side by side.
    #[arg(long)]
    pub sequential: bool,
    /// Minutes the trace's day is compressed into (the controller keeps real time).
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    /// Lowest arrival rate of the trace, goodwill jobs/s.
    #[arg(long, default_value_t = 25.0)]
    pub base: f64,
    /// Highest arrival rate of the trace, goodwill jobs/s.
    #[arg(long, default_value_t = 400.0)]
    pub peak: f64,
    /// Goodwill jobs/s one worker process completes at most (`GOODWILL_MAX_JOBS_PER_SEC`).
    #[arg(long, default_value_t = 50.0)]
    pub cap: f64,
    /// `MAX_WORKERS` of the controller (`MIN_WORKERS` is 1).
    #[arg(long, default_value_t = 10)]
    pub max_workers: u32,
    /// The goodwill latency SLO in seconds, given to the controller
    /// (`LATENCY_SLO_SECS=goodwill=S,default=30`) and counted against.
    #[arg(long, default_value_t = 5.0)]
    pub slo_secs: f64,
    /// Seconds the queue may take to drain after the trace before the rest counts as lost.
    #[arg(long, default_value_t = 180)]
    pub drain_secs: u64,
    /// Distinct users the actions belong to.
    #[arg(long, default_value_t = 1_000)]
    pub users: usize,
    /// Directory of the PNG charts, one per run (`<trace>-<policy>.png`).
    #[arg(long, default_value = "docs/autoscale")]
    pub charts: PathBuf,
    /// One JSON object per run on stdout instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// Every name in `raw` (or all of `every` for `all`), parsed by `parse`.
fn expand<T: Copy>(
    raw: &[String],
    every: &[T],
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> anyhow::Result<Vec<T>> {
    if raw.iter().any(|r| r.trim().eq_ignore_ascii_case("all")) {
        return Ok(every.to_vec());
    }
    raw.iter()
        .map(|r| parse(r).with_context(|| format!("unknown {what} {r:?}")))
        .collect()
}

/// Runs every (trace, policy) pair asked for, one after another.
pub async fn run(args: &AutoscaleArgs, admin: &str, redis: &str) -> anyhow::Result<()> {
    let shapes = expand(&args.trace, &Shape::ALL, schedule::shape, "trace")?;
    let presets = expand(&args.policy, &Preset::ALL, |p| p.parse().ok(), "policy")?;
    anyhow::ensure!(
        args.minutes > 0.0 && args.cap > 0.0,
        "--minutes and --cap must be positive"
    );
    if !args.json {
        report::header(
            args.minutes,
            (args.base, args.peak),
            args.cap,
            args.max_workers,
            args.slo_secs,
        );
    }
    let mut runs = Vec::new();
    for shape in shapes {
        let named = |preset: Preset| async move {
            one(args, shape, preset, admin, redis)
                .await
                .with_context(|| format!("{} under {preset}", shape.as_str()))
        };
        let batch = if args.sequential {
            let mut batch = Vec::new();
            for preset in &presets {
                batch.push(named(*preset).await?);
            }
            batch
        } else {
            futures::future::try_join_all(presets.iter().map(|p| named(*p))).await?
        };
        for run in &batch {
            report::print(run, args.json)?;
        }
        runs.extend(batch);
    }
    if !args.json {
        report::table(&runs);
    }
    if let Some(bad) = runs
        .iter()
        .find(|r| r.lost != 0 || r.doubled != 0 || !r.books)
    {
        bail!(
            "{} under {}: {} lost, {} doubled, books balanced: {}",
            bad.trace,
            bad.policy,
            bad.lost,
            bad.doubled,
            bad.books
        );
    }
    Ok(())
}

/// One run on a fresh database and namespace, cleaned up whatever happens.
async fn one(
    args: &AutoscaleArgs,
    shape: Shape,
    preset: Preset,
    admin: &str,
    redis: &str,
) -> anyhow::Result<Run> {
    let scratch = ScratchDatabase::create(admin, "coin_bench")
        .await
        .context("connect to TEST_DATABASE_URL")?;
    let namespace = format!("bench{}", Uuid::new_v4().simple());
    let queue = JobQueue::new(&RedisSettings {
        redis_url: redis.to_owned().into(),
        queue_namespace: namespace.clone(),
        redis_response_timeout_ms: 30_000,
        redis_connect_timeout_ms: 1_000,
    })?;
    let result = measure(args, shape, preset, &scratch.url, redis, &namespace, &queue).await;
    scratch.drop().await?;
    queue.purge_namespace().await?;
    result
}

/// The controller's environment: the process scaler under `preset`, and the workers' settings
/// (its workers inherit its environment).
fn controller_env(args: &AutoscaleArgs, preset: Preset) -> Vec<(&'static str, String)> {
    vec![
        ("SCALER", "process".into()),
        ("SCALING_POLICY", preset.as_str().into()),
        ("MIN_WORKERS", "1".into()),
        ("MAX_WORKERS", args.max_workers.to_string()),
        (
            "LATENCY_SLO_SECS",
            format!("goodwill={},default=30", args.slo_secs),
        ),
        // Everything shares one small machine: the bench's own load would trip the host guards
        // for every policy alike, which is not what is compared.
        ("MAX_HOST_CPU_RATIO", "1".into()),
        ("MAX_HOST_MEMORY_RATIO", "1".into()),
        // The workers: capped, holding few jobs each, small pools, quick to stop.
        ("GOODWILL_MAX_JOBS_PER_SEC", args.cap.to_string()),
        ("GOODWILL_CONCURRENCY", "16".into()),
        ("WORKER_PREFETCH", "16".into()),
        // Three stacks side by side, up to 10 workers each, within Postgres's default 100
        // connections: a capped worker needs few.
        ("DATABASE_MAX_CONNECTIONS", "2".into()),
        ("SHUTDOWN_GRACE_SECS", "10".into()),
    ]
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &AutoscaleArgs,
    shape: Shape,
    preset: Preset,
    db_url: &str,
    redis: &str,
    namespace: &str,
    queue: &JobQueue,
) -> anyhow::Result<Run> {
    let pool = PgPool::connect(db_url).await?;
    coin_shared::db::migrate(&pool).await?;
    let mut procs = Procs::new(db_url, redis, namespace)?;
    procs.set("DATABASE_MAX_CONNECTIONS", "4");
    let result = drive(args, shape, preset, &pool, &mut procs, queue).await;
    procs.stop().await;
    pool.close().await;
    result
}

async fn drive(
    args: &AutoscaleArgs,
    shape: Shape,
    preset: Preset,
    pool: &PgPool,
    procs: &mut Procs,
    queue: &JobQueue,
) -> anyhow::Result<Run> {
    let api = procs.start_api().await?;
    let token = procs.token()?;
    procs
        .start_controller_with(&controller_env(args, preset))
        .await?;
    let controller = procs
        .controller_pid()
        .context("the controller has no pid")?;

    // The policy's starting fleet, every worker live on the queue, before the trace starts.
    let initial = if preset == Preset::StaticMax {
        args.max_workers
    } else {
        1
    };
    let ready_by = Instant::now() + Duration::from_secs(90);
    loop {
        let live = queue.depth("goodwill").await?.live_workers;
        if worker_children(controller) as u64 >= u64::from(initial) && live >= u64::from(initial) {
            break;
        }
        if Instant::now() > ready_by {
            bail!("the controller did not bring up {initial} worker(s) within 90 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let trace = schedule::trace(shape, args.base, args.peak, args.minutes);
    let due = schedule::due_times(&trace);
    let users: Vec<Uuid> = (0..args.users.max(1)).map(|_| Uuid::now_v7()).collect();
    // No `occurred_at`: the API stamps its accept instant, which is what latency is counted from.
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..due.len())
            .map(|i| {
                serde_json::to_vec(&serde_json::json!({
                    "user_id": users[i % users.len()],
                    "action_type": "volunteering",
                    "description": "Autoscale benchmark action",
                    "loves_value": (i % 100) + 1,
                }))
                .map(Bytes::from)
            })
            .collect::<Result<_, _>>()?,
    );
    let target = load::Target::new(&api, &token, "/v1/goodwill-actions")?;
    let accepted = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let sampler = Sampler {
        queue: queue.clone(),
        controller_pid: controller,
        accepted: accepted.clone(),
    };
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let sampling = tokio::spawn(sampler.run(started, stopped));
    let posted = load::paced(&target, bodies, &due, 64, started, accepted.clone()).await;
    let trace_secs = trace.duration_secs();
    let accepted_total = accepted.load(std::sync::atomic::Ordering::Relaxed) as i64;

    // The drain: until every accepted job is committed, or the time is up.
    let drain_started = Instant::now();
    let mut books = Books::read(pool).await?;
    while posted.is_ok()
        && books.actions < accepted_total
        && drain_started.elapsed() < Duration::from_secs(args.drain_secs)
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
        books = Books::read(pool).await?;
    }
    let drained_after = started.elapsed().as_secs_f64() - trace_secs as f64;
    let _ = stop.send(());
    let mut series = sampling.await??;
    posted?;
    let commits = sample::committed(pool, started_at).await?;
    sample::merge_commits(&mut series, &commits);
    let mut latencies: Vec<f64> = commits.iter().map(|(_, l)| *l).collect();
    latencies.sort_by(f64::total_cmp);

    let steps = schedule::steps(&trace, args.cap, 1, args.max_workers);
    let file = args
        .charts
        .join(format!("{}-{}.png", shape.as_str(), preset.as_str()));
    let title = format!(
        "{} trace, {} policy, {} min, {}–{} jobs/s, cap {}/s per worker",
        shape.as_str(),
        preset.as_str(),
        args.minutes,
        args.base,
        args.peak,
        args.cap
    );
    chart::draw(&file, &title, &series, args.slo_secs, trace_secs)?;
    Ok(Run {
        trace: shape.as_str(),
        policy: preset.as_str(),
        minutes: args.minutes,
        cap_jobs_per_sec: args.cap,
        slo_secs: args.slo_secs,
        accepted: accepted_total,
        p50_latency_secs: quantile(&latencies, 0.5),
        p99_latency_secs: quantile(&latencies, 0.99),
        max_latency_secs: quantile(&latencies, 1.0),
        slo_breach_secs: breach_secs(&series, args.slo_secs),
        replica_secs: replica_secs(&series, trace_secs),
        max_replicas: max_replicas(&series),
        direction_changes: direction_changes(
            series
                .iter()
                .filter(|s| s.t < trace_secs)
                .map(|s| s.replicas),
        ),
        time_to_replicas: time_to_replicas(&series, &steps),
        drain_secs: drained_after.max(0.0),
        lost: books.lost(accepted_total),
        doubled: books.doubled(accepted_total),
        books: books.balanced(accepted_total),
        chart: file,
    })
}
