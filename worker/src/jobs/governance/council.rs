//! Council membership: add with role and dates, end.

use chrono::{DateTime, Utc};
use coin_shared::{
    jobs::{AddCouncilMember, EndCouncilMembership},
    validate::stored,
};
use sqlx::PgPool;

use crate::{
    error::JobError,
    jobs::{
        Applied,
        apply_once::{Audit, Claim, Effect, apply_once},
        store,
    },
};

/// Adds a membership (already checked by the shared rules in `governance::apply`); a
/// re-delivery finds it already there.
pub async fn add(pool: &PgPool, job: &AddCouncilMember) -> Result<Applied, JobError> {
    apply_once(pool, Claim::Row, async |tx| {
        store::ensure_user(tx, job.user_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO council_members (id, user_id, role, start_date, end_date)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(job.member_id)
        .bind(job.user_id)
        .bind(job.role)
        // At the precision the shared rules compared them (see `validate::stored`).
        .bind(stored(job.start_date))
        .bind(job.end_date.map(stored))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        Ok((inserted == 1).then(|| {
            Effect::audited(Audit {
                action: "COUNCIL_MEMBER_ADDED",
                actor: Some(job.requested_by),
                subject_type: "council_member",
                subject_id: job.member_id,
                details: serde_json::json!({ "user_id": job.user_id, "role": job.role }),
            })
        }))
    })
    .await
}

/// Ends a membership at `end_date` (which must be after its start).
pub async fn end(pool: &PgPool, job: &EndCouncilMembership) -> Result<Applied, JobError> {
    // Postgres keeps microseconds: compare and store what it will keep.
    let end_date = stored(job.end_date);
    let member_id = job.member_id;
    let claim = Claim::Command {
        id: job.command_id,
        kind: "COUNCIL_MEMBER_ENDED",
    };
    apply_once(pool, claim, async |tx| {
        let start: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT start_date FROM council_members WHERE id = $1 FOR UPDATE")
                .bind(member_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(start) = start else {
            return Err(JobError::Permanent(format!(
                "council membership {member_id} does not exist"
            )));
        };
        if end_date <= start {
            return Err(JobError::Permanent(format!(
                "the membership started at {start}; it cannot end at {end_date}"
            )));
        }
        sqlx::query("UPDATE council_members SET end_date = $2 WHERE id = $1")
            .bind(member_id)
            .bind(end_date)
            .execute(&mut *tx)
            .await?;
        Ok(Some(Effect::audited(Audit {
            action: "COUNCIL_MEMBER_ENDED",
            actor: Some(job.requested_by),
            subject_type: "council_member",
            subject_id: member_id,
            details: serde_json::json!({ "end_date": end_date }),
        })))
    })
    .await
}
