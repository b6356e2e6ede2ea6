//! `coin-worker dead list|replay`: the operator's view of jobs that failed for good.

use std::io::Write;

use anyhow::Context;
use coin_shared::{
    jobs::{ALL_QUEUES, selected_queues},
    operations::{Audit, audit_action},
    queue::JobQueue,
};
use serde_json::json;

use crate::{operator_cli::audit, settings::DeadAction};

/// Runs one `dead` subcommand on `queue`, writing its report to `out`.
pub async fn run(action: DeadAction, queue: &JobQueue, out: &mut impl Write) -> anyhow::Result<()> {
    match action {
        DeadAction::List { queue: only, limit } => {
            let queues = selected(only.as_deref())?;
            let mut total = 0;
            for name in queues {
                for entry in queue.dead(name, 0, limit).await? {
                    total += 1;
                    let died = entry
                        .died_at
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_else(|| "-".into());
                    writeln!(
                        out,
                        "{name}\t{}\t{died}\t{}",
                        entry.job_id,
                        entry.last_error.as_deref().unwrap_or("-")
                    )?;
                }
            }
            writeln!(out, "{total} dead job(s)")?;
        }
        DeadAction::Replay {
            job_ids,
            all: true,
            queue: only,
        } if job_ids.is_empty() => {
            let mut total = 0;
            for name in selected(only.as_deref())? {
                let replayed = queue.replay_all(name).await?;
                if replayed > 0 {
                    let details = json!({"count": replayed});
                    audit(
                        queue,
                        Audit::queue(audit_action::DEAD_JOBS_REPLAYED, name, details),
                    )
                    .await?;
                }
                total += replayed;
            }
            writeln!(out, "replayed {total} job(s)")?;
        }
        DeadAction::Replay { job_ids, .. } => {
            let mut missing = Vec::new();
            for id in &job_ids {
                match queue.replay_by_id(id).await? {
                    Some(name) => {
                        let details = json!({"queue": name});
                        audit(
                            queue,
                            Audit::job(audit_action::DEAD_JOB_REPLAYED, id, details),
                        )
                        .await?;
                        writeln!(out, "replayed {id} ({name})")?
                    }
                    None => missing.push(id.as_str()),
                }
            }
            if !missing.is_empty() {
                anyhow::bail!("not in any dead set: {}", missing.join(", "));
            }
        }
    }
    Ok(())
}

fn selected(only: Option<&str>) -> anyhow::Result<Vec<&'static str>> {
    selected_queues(only).with_context(|| {
        let name = only.unwrap_or_default();
        format!("unknown queue `{name}` (known: {})", ALL_QUEUES.join(", "))
    })
}
