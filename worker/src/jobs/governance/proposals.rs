//! Proposal lifecycle: DRAFT → ACTIVE → CLOSED (with the final tally), or → REJECTED.

use coin_shared::{
    governance::tally,
    jobs::{CreateProposal, Transition},
    status::ProposalStatus,
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
        let insert = sqlx::query!(
            "INSERT INTO proposals (id, title, description, proposer_user_id, vote_start_time,
                                    vote_end_time, required_quorum)
             VALUES ($1, $2, $3, $4, $5, $6, $7::float8::numeric)
             ON CONFLICT (id) DO NOTHING",
            job.proposal_id,
            job.title,
            job.description,
            job.proposer_id,
            // At the precision the shared rules compared them (see `validate::stored`).
            stored(job.vote_start_time),
            stored(job.vote_end_time),
            job.required_quorum
        );
        Ok(inserted(insert, tx).await?.then(|| {
            Effect::audit("PROPOSAL_CREATED", "proposal", job.proposal_id)
                .by(job.proposer_id)
                .details(serde_json::json!({ "title": job.title }))
        }))
    })
    .await
}

/// The proposal row a transition reads (and locks).
#[derive(Debug)]
struct ProposalState {
    status: ProposalStatus,
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
    apply_once(pool, Claim::command(command_id, kind), async |tx| {
        let current = sqlx::query_as!(
            ProposalState,
            r#"SELECT status AS "status: ProposalStatus", required_quorum::float8 AS "quorum!"
               FROM proposals WHERE id = $1 FOR UPDATE"#,
            proposal_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let ProposalState { status, quorum } =
            existing(current, format_args!("proposal {proposal_id}"))?;
        let Some(to) = status.next(transition) else {
            let allowed: Vec<&str> = ProposalStatus::sources(transition)
                .iter()
                .map(|s| s.as_str())
                .collect();
            let to = ProposalStatus::target(transition);
            return Err(JobError::Permanent(format!(
                "cannot move proposal {proposal_id} from {status} to {to}: only {} proposals can be",
                allowed.join(" or ")
            )));
        };
        let (tally, event) = match transition {
            Transition::Open => (
                None,
                Some((
                    webhooks::PROPOSAL_OPENED,
                    serde_json::json!({ "proposal_id": proposal_id }),
                )),
            ),
            Transition::Close => {
                let inputs = tally::load(tx, proposal_id, quorum).await?;
                let result = serde_json::to_value(tally::compute(&inputs))
                    .map_err(|e| JobError::Permanent(format!("could not store the tally: {e}")))?;
                let data = serde_json::json!({
                    "proposal_id": proposal_id,
                    "automatic": requested_by.is_none(),
                    "tally": result,
                });
                (Some(result), Some((webhooks::PROPOSAL_CLOSED, data)))
            }
            Transition::Reject => (None, None),
        };
        // Opening stamps `opened_at`; closing and rejecting stamp `closed_at`; a close stores
        // its tally.
        sqlx::query!(
            "UPDATE proposals SET status = $2::proposal_status,
                 opened_at = CASE WHEN $2::proposal_status = 'ACTIVE' THEN now()
                                  ELSE opened_at END,
                 closed_at = CASE WHEN $2::proposal_status IN ('CLOSED', 'REJECTED') THEN now()
                                  ELSE closed_at END,
                 final_result = COALESCE($3, final_result)
             WHERE id = $1",
            proposal_id,
            to as ProposalStatus,
            tally
        )
        .execute(&mut *tx)
        .await?;
        let mut details = serde_json::json!({ "from": status, "to": to });
        if let Some(tally) = tally {
            details["tally"] = tally;
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
