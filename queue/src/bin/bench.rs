//! Throughput bench: bulk push rate, then no-op drain rate with one worker process.
//!
//! ```text
//! cargo run --release -p coin-queue --bin queue-bench -- [--jobs N] [--scheduled M]
//!     [--concurrency C] [--prefetch P] [--workers W] [--probe K] [--keep-meta]
//!     [--url redis://127.0.0.1:6379]
//! ```
//! `--keep-meta` keeps each done job's meta hash (status/result) for 10 min instead of
//! deleting it. `--scheduled M` additionally pushes M jobs delayed by 1 s (exercises bounded promotion).
//! `--probe K` pushes K single jobs one by one (every 2 ms) while the backlog drains and
//! reports their push latency: producers keep being served during a drain.
//! Uses a random namespace and purges it afterwards.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use apalis::layers::WorkerBuilderExt;
use apalis_core::{
    backend::TaskSink, error::BoxDynError, monitor::Monitor, worker::builder::WorkerBuilder,
};
use coin_queue::{DoneRetention, QueueConfig, RedisQueue};

struct Opts {
    jobs: usize,
    scheduled: usize,
    concurrency: usize,
    prefetch: usize,
    workers: usize,
    keep_meta: bool,
    probe: usize,
    url: String,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        jobs: 200_000,
        scheduled: 0,
        probe: 1_000,
        concurrency: 256,
        prefetch: 500,
        workers: 1,
        keep_meta: false,
        url: "redis://127.0.0.1:6379".to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        let num = |s: String| {
            s.replace('_', "")
                .parse::<usize>()
                .map_err(|e| e.to_string())
        };
        match a.as_str() {
            "--jobs" => o.jobs = num(val()?)?,
            "--scheduled" => o.scheduled = num(val()?)?,
            "--concurrency" => o.concurrency = num(val()?)?,
            "--prefetch" => o.prefetch = num(val()?)?,
            "--workers" => o.workers = num(val()?)?,
            "--url" => o.url = val()?,
            "--keep-meta" => o.keep_meta = true,
            "--probe" => o.probe = num(val()?)?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

async fn noop(_n: u64) -> Result<(), BoxDynError> {
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxDynError> {
    let o = parse()?;
    let ns = format!("bench{}", fastrand::u32(..));
    let cfg = QueueConfig::new("noop")
        .namespace(&ns)
        .prefetch(o.prefetch)
        .done_retention(if o.keep_meta {
            DoneRetention::KeepMeta(Duration::from_secs(600))
        } else {
            DoneRetention::Drop
        });
    let queue: RedisQueue<u64> = RedisQueue::connect(&o.url, cfg).await?;

    // --- bulk push -------------------------------------------------------------------
    let batch: Vec<u64> = (0..10_000u64).collect();
    let t = Instant::now();
    let mut pushed = 0;
    while pushed < o.jobs {
        let n = (o.jobs - pushed).min(batch.len());
        queue.enqueue_bulk(&batch[..n]).await?;
        pushed += n;
    }
    let push_secs = t.elapsed().as_secs_f64();
    println!(
        "bulk push: {} jobs in {:.3}s = {:.0} jobs/s (enqueue_bulk, 10,000 per call, 1,000-job push scripts)",
        o.jobs,
        push_secs,
        o.jobs as f64 / push_secs,
    );
    {
        // Same write path through apalis' TaskSink::push_bulk (ids minted by the sink).
        let side: RedisQueue<u64> = RedisQueue::connect(
            &o.url,
            QueueConfig::new("sink")
                .namespace(&ns)
                .done_retention(DoneRetention::Drop),
        )
        .await?;
        let mut sink = side.clone();
        let n = o.jobs.min(100_000);
        let t = Instant::now();
        sink.push_bulk((0..n as u64).collect()).await?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "TaskSink::push_bulk: {n} jobs in {secs:.3}s = {:.0} jobs/s",
            n as f64 / secs
        );
        side.purge().await?;
    }
    if o.scheduled > 0 {
        let t = Instant::now();
        let mut done = 0;
        while done < o.scheduled {
            let n = (o.scheduled - done).min(10_000);
            queue
                .enqueue_bulk_delayed(&batch[..n], Duration::from_secs(1))
                .await?;
            done += n;
        }
        println!(
            "scheduled push: {} jobs (due in 1 s) in {:.3}s",
            o.scheduled,
            t.elapsed().as_secs_f64()
        );
    }
    let total = (o.jobs + o.scheduled + o.probe) as u64;
    println!("depths before drain: {:?}", queue.depths().await?);

    // --- drain -------------------------------------------------------------------------
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let q = queue.clone();
    let (conc, workers, pid) = (o.concurrency, o.workers, std::process::id());
    let errs = errors.clone();
    let monitor = Monitor::new()
        .on_event(move |_ctx, ev| {
            if let apalis_core::worker::event::Event::Error(_) = ev {
                errs.fetch_add(1, Ordering::Relaxed);
            }
        })
        .register_n(workers, move |i, _restarts| {
            WorkerBuilder::new(format!("bench-{pid}-{i}"))
                .backend(q.clone())
                .concurrency(conc)
                .build(noop)
        })
        .shutdown_timeout(Duration::from_secs(30));
    let watch = queue.clone();
    let drained_at = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let drained = drained_at.clone();
    let signal = async move {
        let mut last = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let d = watch.depths().await.map_err(std::io::Error::other)?;
            if last.elapsed() > Duration::from_secs(5) {
                println!("  t={:.1}s {:?}", start.elapsed().as_secs_f64(), d);
                last = Instant::now();
            }
            if d.done >= total {
                if let Ok(mut g) = drained.lock() {
                    *g = Some(Instant::now());
                }
                return Ok(());
            }
        }
    };
    // Single pushes while the backlog drains, timed one by one.
    let producer = {
        let q = queue.clone();
        let n = o.probe;
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(n);
            for i in 0..n {
                let t = Instant::now();
                if q.enqueue(&(i as u64)).await.is_ok() {
                    latencies.push(t.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            latencies
        })
    };
    monitor.run_with_signal(signal).await?;
    let mut latencies = producer.await.unwrap_or_default();
    latencies.sort();
    if !latencies.is_empty() {
        let pct =
            |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
        println!(
            "single pushes during the drain: {} ok of {}, latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            latencies.len(),
            o.probe,
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
    }
    let stopped = Instant::now();
    let end = drained_at.lock().ok().and_then(|g| *g).unwrap_or(stopped);
    let secs = end.duration_since(start).as_secs_f64();
    let d = queue.depths().await?;
    println!(
        "drain: {} jobs in {:.3}s = {:.0} jobs/s (1 process, {} worker(s), concurrency {}, prefetch {}; \
         observed by 100 ms depth polling); graceful shutdown took {:.3}s",
        d.done,
        secs,
        d.done as f64 / secs,
        workers,
        conc,
        o.prefetch,
        stopped.duration_since(end).as_secs_f64()
    );
    println!(
        "depths after drain: {d:?}; worker error events: {}",
        errors.load(Ordering::Relaxed)
    );
    let purged = queue.purge().await?;
    println!("purged {purged} keys of namespace {ns}");
    Ok(())
}
