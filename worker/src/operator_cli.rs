//! The operator commands of `coin-worker` on the host: `queues`, `pause`, `resume` and `jobs
//! list|cancel`. They mirror the operator HTTP routes through the same shared functions
//! (`coin_shared::operations`), and audit every action the same way, as the unix user who ran
//! them (`cli:<user>`).

use std::io::Write;

use anyhow::Context;
use coin_shared::{
    config::RedisSettings,
    operations::{Audit, CancelOutcome, JobFilter, audit_action, describe_cancel},
    queue::JobQueue,
};
use serde_json::json;

use crate::settings::JobsAction;

/// The queues an operator command acts on.
pub fn connect(redis: &RedisSettings) -> anyhow::Result<JobQueue> {
    JobQueue::new(redis).context("invalid REDIS_URL")
}

/// Who runs the CLI, as audit rows name it.
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Records one action done from the CLI.
pub async fn audit(queue: &JobQueue, audit: Audit) -> anyhow::Result<()> {
    queue
        .audit(audit.by(None, cli_actor()))
        .await
        .context("the action was done, but its audit entry could not be queued")?;
    Ok(())
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.1}"))
}

/// `coin-worker queues`
pub async fn queues(queue: &JobQueue, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "queue\tready\tscheduled\tinflight\tdead\tcancelled\tdone\tlatency_s\tenqueue/s\tcomplete/s\tpaused\tworkers"
    )?;
    for (name, d) in queue.overview().await? {
        writeln!(
            out,
            "{name}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.1}\t{}\t{}\t{}\t{}",
            d.ready,
            d.scheduled,
            d.inflight,
            d.dead,
            d.cancelled,
            d.done,
            d.latency_secs,
            rate(d.enqueue_per_sec),
            rate(d.completion_per_sec),
            if d.paused { "yes" } else { "no" },
            d.live_workers
        )?;
    }
    Ok(())
}

/// `coin-worker pause|resume <queue>`
pub async fn pause(
    queue: &JobQueue,
    name: &str,
    paused: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let changed = if paused {
        queue.pause(name, &cli_actor()).await?
    } else {
        queue.resume(name).await?
    };
    let (verb, action) = if paused {
        ("paused", audit_action::QUEUE_PAUSED)
    } else {
        ("resumed", audit_action::QUEUE_RESUMED)
    };
    if changed {
        audit(queue, Audit::queue(action, name, json!({}))).await?;
        writeln!(out, "{name}: {verb}")?;
    } else {
        writeln!(out, "{name}: already {verb}")?;
    }
    Ok(())
}

/// `coin-worker jobs list|cancel`
pub async fn jobs(
    action: JobsAction,
    queue: &JobQueue,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match action {
        JobsAction::List {
            state,
            queue: only,
            kind,
            user_id,
            limit,
            cursor,
        } => {
            let filter = JobFilter {
                queue: only,
                state,
                kind,
                user_id,
            };
            let page = queue
                .search(&filter, cursor.as_deref(), limit as usize)
                .await?;
            for job in &page.items {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{:?}\t{}\t{}",
                    job.queue,
                    job.job_id,
                    job.kind,
                    job.state,
                    job.attempts,
                    job.last_error.as_deref().unwrap_or("-")
                )?;
            }
            writeln!(
                out,
                "{} job(s), {} looked at",
                page.items.len(),
                page.scanned
            )?;
            if let Some(next) = page.next_cursor {
                writeln!(out, "more: --cursor '{next}'")?;
            }
        }
        JobsAction::Cancel { job_ids } => {
            let mut refused = Vec::new();
            for id in &job_ids {
                match queue.cancel(id).await? {
                    None => refused.push(format!("{id}: unknown")),
                    Some((name, outcome)) => {
                        let (ok, text) = describe_cancel(outcome);
                        // A job cancelled before changes nothing: no audit row, as over HTTP.
                        if ok && outcome != CancelOutcome::AlreadyCancelled {
                            audit(
                                queue,
                                Audit::job(
                                    audit_action::JOB_CANCELLED,
                                    id,
                                    json!({"queue": name, "outcome": outcome}),
                                ),
                            )
                            .await?;
                        }
                        if ok {
                            writeln!(out, "{id} ({name}): {text}")?;
                        } else {
                            refused.push(format!("{id} ({name}): {text}"));
                        }
                    }
                }
            }
            if !refused.is_empty() {
                anyhow::bail!("not cancelled:\n{}", refused.join("\n"));
            }
        }
    }
    Ok(())
}
