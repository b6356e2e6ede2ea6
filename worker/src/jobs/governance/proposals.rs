//! Proposal lifecycle: DRAFT → ACTIVE → CLOSED (with the final tally), or → REJECTED.

use coin_shared::{
    governance::tally,
    jobs::{CreateProposal, Transition},
    validate::stored,
    webhooks,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::jobs::prelude::*;

/// Creates a DRAFT proposal (already checked by the shared rules in `governance::apply`); a
/// re-delivery finds it already there.
pub async fn create(pool: &PgPool, job: &CreateProposal) -> Result<Applied, JobError> {
    apply_once(pool, Claim::Row, async |tx| {
        store::ensure_user(tx, job.proposer_id).await?;
        let insert = sqlx::query(
            "INSERT INTO proposals (id, title, description, proposer_user_id, vote_start_time,
                                    vote_end_time, required_quorum)
             VALUES ($1, $2, $3, $4, $5, $6, $7::numeric)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(job.proposal_id)
        .bind(&job.title)
        .bind(&job.description)
        .bind(job.proposer_id)
        // At the precision the shared rules compared them (see `validate::stored`).
        .bind(stored(job.vote_start_time))
        .bind(stored(job.vote_end_time))
        .bind(job.required_quorum);
        Ok(inserted(insert, tx).await?.then(|| {
            Effect::audit("PROPOSAL_CREATED", "proposal", job.proposal_id)
                .by(job.proposer_id)
                .details(serde_json::json!({ "title": job.title }))
        }))
    })
    .await
}

/// The proposal row a transition reads (and locks).
#[derive(Debug, sqlx::FromRow)]
struct ProposalState {
    status: String,
    quorum: f64,
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
    let kind = match transition {
        Transition::Open => "PROPOSAL_OPENED",
        Transition::Close => "PROPOSAL_CLOSED",
        Transition::Reject => "PROPOSAL_REJECTED",
    };
    apply_once(pool, Claim::Command { id: command_id, kind }, async |tx| {
        let current: Option<ProposalState> = sqlx::query_as(
            "SELECT status::text AS status, required_quorum::float8 AS quorum
             FROM proposals WHERE id = $1 FOR UPDATE",
        )
        .bind(proposal_id)
        .fetch_optional(&mut *tx)
        .await?;
        let ProposalState { status, quorum } =
            existing(current, format_args!("proposal {proposal_id}"))?;
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
        let mut event = None;
        match transition {
            Transition::Open => {
                sqlx::query(
                    "UPDATE proposals SET status = 'ACTIVE', opened_at = now() WHERE id = $1",
                )
                .bind(proposal_id)
                .execute(&mut *tx)
                .await?;
                event = Some((
                    webhooks::PROPOSAL_OPENED,
                    serde_json::json!({ "proposal_id": proposal_id }),
                ));
            }
            Transition::Close => {
                let inputs = tally::load(tx, proposal_id, quorum).await?;
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
                event = Some((
                    webhooks::PROPOSAL_CLOSED,
                    serde_json::json!({
                        "proposal_id": proposal_id,
                        "automatic": requested_by.is_none(),
                        "tally": result,
                    }),
                ));
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
        let effect = Effect::audit(kind, "proposal", proposal_id)
            .by(requested_by)
            .details(details);
        Ok(Some(match event {
            Some((event_type, data)) => effect.emit(event_type, data),
            None => effect,
        }))
    })
    .await
}
