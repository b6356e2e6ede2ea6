//! Proposal lifecycle: DRAFT → ACTIVE → CLOSED (with the final tally), or → REJECTED.

use coin_shared::{
    governance::tally,
    jobs::{Governance, Transition},
    validate::stored,
    webhooks,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    error::JobError,
    jobs::{Applied, outbox, store},
};

/// Creates a DRAFT proposal (already checked by the shared rules in `governance::apply`); a
/// re-delivery finds it already there.
pub async fn create(pool: &PgPool, job: &Governance) -> Result<Applied, JobError> {
    let Governance::CreateProposal {
        proposal_id,
        title,
        description,
        vote_start_time,
        vote_end_time,
        required_quorum,
        proposer_id,
    } = job
    else {
        return Err(JobError::Permanent("not a CreateProposal command".into()));
    };
    let mut tx = pool.begin().await?;
    store::ensure_user(&mut tx, *proposer_id).await?;
    let inserted = sqlx::query(
        "INSERT INTO proposals (id, title, description, proposer_user_id, vote_start_time,
                                vote_end_time, required_quorum)
         VALUES ($1, $2, $3, $4, $5, $6, $7::numeric)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(proposal_id)
    .bind(title)
    .bind(description)
    .bind(proposer_id)
    // At the precision the shared rules compared them (see `validate::stored`).
    .bind(stored(*vote_start_time))
    .bind(stored(*vote_end_time))
    .bind(required_quorum)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        return Ok(Applied::AlreadyApplied);
    }
    store::audit(
        &mut tx,
        "PROPOSAL_CREATED",
        Some(*proposer_id),
        "proposal",
        *proposal_id,
        serde_json::json!({ "title": title }),
    )
    .await?;
    tx.commit().await?;
    Ok(Applied::Done)
}

/// Applies a lifecycle step; illegal steps fail permanently with the reason. `requested_by` is
/// `None` when the system asks (the auto-close schedule).
pub async fn transition(
    pool: &PgPool,
    command_id: Uuid,
    proposal_id: Uuid,
    transition: Transition,
    requested_by: Option<Uuid>,
) -> Result<Applied, JobError> {
    let mut tx = pool.begin().await?;
    let kind = match transition {
        Transition::Open => "PROPOSAL_OPENED",
        Transition::Close => "PROPOSAL_CLOSED",
        Transition::Reject => "PROPOSAL_REJECTED",
    };
    if !store::claim_command(&mut tx, command_id, kind).await? {
        tx.rollback().await?;
        return Ok(Applied::AlreadyApplied);
    }
    let current: Option<(String, f64)> = sqlx::query_as(
        "SELECT status::text, required_quorum::float8 FROM proposals WHERE id = $1 FOR UPDATE",
    )
    .bind(proposal_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((status, quorum)) = current else {
        return Err(JobError::Permanent(format!(
            "proposal {proposal_id} does not exist"
        )));
    };
    let (allowed_from, to): (&[&str], &str) = match transition {
        Transition::Open => (&["DRAFT"], "ACTIVE"),
        Transition::Close => (&["ACTIVE"], "CLOSED"),
        Transition::Reject => (&["DRAFT", "ACTIVE"], "REJECTED"),
    };
    if !allowed_from.contains(&status.as_str()) {
        return Err(JobError::Permanent(format!(
            "cannot move proposal {proposal_id} from {status} to {to}: only {} proposals can be",
            allowed_from.join(" or ")
        )));
    }
    let mut details = serde_json::json!({ "from": status, "to": to });
    match transition {
        Transition::Open => {
            sqlx::query("UPDATE proposals SET status = 'ACTIVE', opened_at = now() WHERE id = $1")
                .bind(proposal_id)
                .execute(&mut *tx)
                .await?;
            outbox::emit(
                &mut tx,
                webhooks::PROPOSAL_OPENED,
                serde_json::json!({ "proposal_id": proposal_id }),
            )
            .await?;
        }
        Transition::Close => {
            let inputs = tally::load(&mut tx, proposal_id, quorum).await?;
            let result = tally::compute(&inputs);
            let result = serde_json::to_value(&result)
                .map_err(|e| JobError::Permanent(format!("could not store the tally: {e}")))?;
            sqlx::query(
                "UPDATE proposals SET status = 'CLOSED', closed_at = now(), final_result = $2
                 WHERE id = $1",
            )
            .bind(proposal_id)
            .bind(&result)
            .execute(&mut *tx)
            .await?;
            outbox::emit(
                &mut tx,
                webhooks::PROPOSAL_CLOSED,
                serde_json::json!({
                    "proposal_id": proposal_id,
                    "automatic": requested_by.is_none(),
                    "tally": result,
                }),
            )
            .await?;
            details["tally"] = result;
        }
        Transition::Reject => {
            sqlx::query(
                "UPDATE proposals SET status = 'REJECTED', closed_at = now() WHERE id = $1",
            )
            .bind(proposal_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    store::audit(
        &mut tx,
        kind,
        requested_by,
        "proposal",
        proposal_id,
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(Applied::Done)
}
