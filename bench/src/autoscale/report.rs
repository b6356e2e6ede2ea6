//! What `coin-bench autoscale` prints: a header with the setup, a block per run (or one JSON
//! object per run with `--json`), and a Markdown table of every run at the end.

use std::path::PathBuf;

use serde::Serialize;

use crate::autoscale::metrics::Followed;

/// The figures of one run (with `--json`, one object of these fields).
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// The trace and the policy.
    pub trace: &'static str,
    pub policy: &'static str,
    /// For each step of the trace, seconds until the fleet had the replicas it needs.
    #[serde(serialize_with = "followed")]
    pub time_to_replicas: Vec<Followed>,
    /// The trace's minutes, every worker's `GOODWILL_MAX_JOBS_PER_SEC` and the goodwill
    /// latency SLO (s).
    pub minutes: f64,
    pub cap_jobs_per_sec: f64,
    pub slo_secs: f64,
    /// Jobs the API accepted.
    pub accepted: i64,
    /// Enqueue → commit latency over every committed job: median, 99th percentile, maximum (s).
    pub p50_latency_secs: f64,
    pub p99_latency_secs: f64,
    pub max_latency_secs: f64,
    /// Seconds (trace and drain) whose goodwill latency was above the SLO.
    pub slo_breach_secs: u64,
    /// Worker processes summed over the trace's seconds, the most at once, and the reversals
    /// of the fleet's direction during the trace.
    pub replica_secs: u64,
    pub max_replicas: u32,
    pub direction_changes: u32,
    /// Seconds after the trace until every accepted job was committed.
    pub drain_secs: f64,
    /// Accepted jobs never committed, and effects beyond one per accepted job; whether every
    /// balance equals its ledger and its actions, one of each per accepted job.
    pub lost: i64,
    pub doubled: i64,
    pub books: bool,
    /// The chart's file.
    pub chart: PathBuf,
}

fn followed<S: serde::Serializer>(steps: &[Followed], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(steps.iter().map(|f| {
        serde_json::json!({
            "at_secs": f.step.at_secs,
            "needed": f.step.needed,
            "up": f.step.up,
            "after_secs": f.after_secs,
        })
    }))
}

/// `8↑ at 30 s: 12 s; 1↓ at 90 s: —`
fn steps_text(steps: &[Followed]) -> String {
    if steps.is_empty() {
        return "no steps".to_owned();
    }
    steps
        .iter()
        .map(|f| {
            format!(
                "{}{} at {} s: {}",
                f.step.needed,
                if f.step.up { "↑" } else { "↓" },
                f.step.at_secs,
                f.after_secs
                    .map_or_else(|| "not reached".to_owned(), |s| format!("{s} s"))
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The setup, once: the day's minutes, the trace's rates, the cap per worker, the most
/// workers and the SLO.
pub fn header(minutes: f64, (base, peak): (f64, f64), cap: f64, max_workers: u32, slo_secs: f64) {
    println!(
        "People's Coin autoscaler benchmark: each day compressed into {minutes} min; arrivals \
         {base}–{peak} goodwill jobs/s through the API; every worker capped at {cap} goodwill \
         jobs/s (GOODWILL_MAX_JOBS_PER_SEC); workers 1..{max_workers}; goodwill SLO {slo_secs} s"
    );
}

/// One run, as text or as one JSON line.
pub fn print(run: &Run, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(run)?);
        return Ok(());
    }
    println!("\n{} trace under {}", run.trace, run.policy);
    let rows = [
        ("jobs accepted", run.accepted.to_string()),
        (
            "latency p50 / p99 / max",
            format!(
                "{:.2} s / {:.2} s / {:.2} s",
                run.p50_latency_secs, run.p99_latency_secs, run.max_latency_secs
            ),
        ),
        (
            "seconds above the SLO",
            format!("{} (SLO {} s)", run.slo_breach_secs, run.slo_secs),
        ),
        ("replica-seconds", run.replica_secs.to_string()),
        ("max replicas", run.max_replicas.to_string()),
        ("direction changes", run.direction_changes.to_string()),
        ("time to replicas", steps_text(&run.time_to_replicas)),
        ("drain after the trace", format!("{:.1} s", run.drain_secs)),
        ("lost / doubled", format!("{} / {}", run.lost, run.doubled)),
        (
            "books (balances = ledger = actions)",
            if run.books { "balanced" } else { "WRONG" }.to_owned(),
        ),
        ("chart", run.chart.display().to_string()),
    ];
    for (what, figure) in rows {
        println!("  {what:<38} {figure}");
    }
    Ok(())
}

/// Every run as a Markdown table.
pub fn table(runs: &[Run]) {
    println!(
        "\n| trace | policy | p50 s | p99 s | max s | s > SLO | replica-s | max replicas | direction changes | time to replicas | lost | doubled | books |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in runs {
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.trace,
            r.policy,
            r.p50_latency_secs,
            r.p99_latency_secs,
            r.max_latency_secs,
            r.slo_breach_secs,
            r.replica_secs,
            r.max_replicas,
            r.direction_changes,
            steps_text(&r.time_to_replicas),
            r.lost,
            r.doubled,
            if r.books { "balanced" } else { "WRONG" }
        );
    }
}
