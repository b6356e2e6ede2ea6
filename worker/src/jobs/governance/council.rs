//! Council membership: add with role and dates, end.

use chrono::{DateTime, Utc};
use coin_shared::{jobs::Governance, validate::stored};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    error::JobError,
    jobs::{Applied, store},
};

/// Adds a membership (already checked by the shared rules in `governance::apply`); a
/// re-delivery finds it already there.
pub async fn add(pool: &PgPool, job: &Governance) -> Result<Applied, JobError> {
    let Governance::AddCouncilMember {
        member_id,
        user_id,
        role,
        start_date,
        end_date,
        requested_by,
    } = job
    else {
        return Err(JobError::Permanent(
            "not an AddCouncilMember command".into(),
        ));
    };
    let mut tx = pool.begin().await?;
    store::ensure_user(&mut tx, *user_id).await?;
    let inserted = sqlx::query(
        "INSERT INTO council_members (id, user_id, role, start_date, end_date)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(member_id)
    .bind(user_id)
    .bind(role)
    // At the precision the shared rules compared them (see `validate::stored`).
    .bind(stored(*start_date))
    .bind(end_date.map(stored))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        return Ok(Applied::AlreadyApplied);
    }
    store::audit(
        &mut tx,
        "COUNCIL_MEMBER_ADDED",
        Some(*requested_by),
        "council_member",
        *member_id,
        serde_json::json!({ "user_id": user_id, "role": role }),
    )
    .await?;
    tx.commit().await?;
    Ok(Applied::Done)
}

/// Ends a membership at `end_date` (which must be after its start).
pub async fn end(
    pool: &PgPool,
    command_id: Uuid,
    member_id: Uuid,
    end_date: DateTime<Utc>,
    requested_by: Uuid,
) -> Result<Applied, JobError> {
    // Postgres keeps microseconds: compare and store what it will keep.
    let end_date = stored(end_date);
    let mut tx = pool.begin().await?;
    if !store::claim_command(&mut tx, command_id, "COUNCIL_MEMBER_ENDED").await? {
        tx.rollback().await?;
        return Ok(Applied::AlreadyApplied);
    }
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
    store::audit(
        &mut tx,
        "COUNCIL_MEMBER_ENDED",
        Some(requested_by),
        "council_member",
        member_id,
        serde_json::json!({ "end_date": end_date }),
    )
    .await?;
    tx.commit().await?;
    Ok(Applied::Done)
}
