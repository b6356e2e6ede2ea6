//! Council membership: add with role and dates, end.

use coin_shared::{
    jobs::{AddCouncilMember, CouncilRole, EndCouncilMembership},
    validate::stored,
};
use sqlx::PgPool;

use crate::jobs::prelude::*;

/// Adds a membership (already checked by the shared rules in `governance::apply`); a
/// re-delivery finds it already there.
pub async fn add(pool: &PgPool, job: &AddCouncilMember) -> Result<Applied, JobError> {
    apply_once(pool, Claim::Row, async |tx| {
        store::ensure_user(tx, job.user_id).await?;
        let insert = sqlx::query!(
            "INSERT INTO council_members (id, user_id, role, start_date, end_date)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            job.member_id,
            job.user_id,
            job.role as CouncilRole,
            // At the precision the shared rules compared them (see `validate::stored`).
            stored(job.start_date),
            job.end_date.map(stored)
        );
        Ok(inserted(insert, tx).await?.then(|| {
            Effect::audit("COUNCIL_MEMBER_ADDED", "council_member", job.member_id)
                .by(job.requested_by)
                .details(serde_json::json!({ "user_id": job.user_id, "role": job.role }))
        }))
    })
    .await
}

/// Ends a membership at `end_date` (which must be after its start).
pub async fn end(pool: &PgPool, job: &EndCouncilMembership) -> Result<Applied, JobError> {
    // Postgres keeps microseconds: compare and store what it will keep.
    let end_date = stored(job.end_date);
    let member_id = job.member_id;
    let claim = Claim::command(job.command_id, "COUNCIL_MEMBER_ENDED");
    apply_once(pool, claim, async |tx| {
        let start = sqlx::query_scalar!(
            "SELECT start_date FROM council_members WHERE id = $1 FOR UPDATE",
            member_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let start = existing(start, format_args!("council membership {member_id}"))?;
        if end_date <= start {
            return Err(JobError::Permanent(format!(
                "the membership started at {start}; it cannot end at {end_date}"
            )));
        }
        sqlx::query!(
            "UPDATE council_members SET end_date = $2 WHERE id = $1",
            member_id,
            end_date
        )
        .execute(&mut *tx)
        .await?;
        let effect = Effect::audit("COUNCIL_MEMBER_ENDED", "council_member", member_id);
        Ok(Some(
            effect
                .by(job.requested_by)
                .details(serde_json::json!({ "end_date": end_date })),
        ))
    })
    .await
}
