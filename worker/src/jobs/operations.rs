//! `Operation`: what operators asked for, run by workers. An audit entry becomes one
//! `audit_log` row, exactly once (claimed by its job id in `applied_commands`); a bulk action
//! walks the matching jobs window by window through the queue's search, reports its progress on
//! its own job record after each window, and is audited once it finished.
//!
//! A bulk action that is delivered again (its worker died) walks again: jobs it already changed
//! no longer match its filter, so nothing is done twice, and its audit row is still written once.

use coin_shared::{
    operations::{AuditEntry, BulkAction, BulkProgress, audit_action},
    queue::{JobId, JobQueue},
};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::prelude::*;

/// Writes the audit row of an operator action that was already done.
pub async fn audit(pool: &PgPool, job_id: Uuid, entry: &AuditEntry) -> Result<Applied, JobError> {
    let Some(action) = audit_action::ALL.iter().find(|a| **a == entry.action) else {
        return Err(JobError::Permanent(format!(
            "unknown operator action `{}`",
            entry.action
        )));
    };
    let subject_type = match entry.subject_type.as_str() {
        "queue" => "queue",
        "job" => "job",
        other => {
            return Err(JobError::Permanent(format!(
                "unknown audit subject type `{other}`"
            )));
        }
    };
    let details = json!({
        "actor": entry.actor,
        "subject": entry.subject,
        "at": entry.at,
        "details": entry.details,
    });
    let subject_id = Uuid::parse_str(&entry.subject).ok();
    let effect = Effect::audit(action, subject_type, subject_id)
        .by(entry.actor_user_id)
        .details(details);
    audit_once(pool, job_id, action, effect).await
}

/// Runs a bulk action to its end, then audits it.
pub async fn bulk(
    pool: &PgPool,
    queue: &JobQueue,
    job_id: Uuid,
    bulk: &BulkAction,
) -> Result<Applied, JobError> {
    bulk.action
        .check(bulk.filter.state)
        .map_err(JobError::Permanent)?;
    let id = JobId(job_id);
    let done: BulkProgress = queue
        .bulk(bulk.action, &bulk.filter, Some(id))
        .await
        .map_err(|e| JobError::Transient(e.into()))?;
    let action = bulk.action.audit_action();
    let details = json!({
        "actor": bulk.actor,
        "filter": bulk.filter,
        "scanned": done.scanned,
        "matched": done.matched,
        "applied": done.applied,
    });
    let effect = Effect::audit(action, "job", job_id)
        .by(bulk.actor_user_id)
        .details(details);
    audit_once(pool, job_id, action, effect).await
}

/// Writes an operator action's audit row exactly once, claimed by its job id.
async fn audit_once(
    pool: &PgPool,
    job_id: Uuid,
    action: &'static str,
    effect: Effect,
) -> Result<Applied, JobError> {
    let claim = Claim::command(job_id, action);
    apply_once(pool, claim, async |_| Ok(Some(effect))).await
}
