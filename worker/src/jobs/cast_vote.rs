//! `CastVote`: one vote per (proposal, voter); a later vote replaces an earlier one while the
//! proposal is ACTIVE and the vote was cast inside its window.

use chrono::{DateTime, Utc};
use coin_shared::{
    jobs::{CastVote, Choice},
    status::ProposalStatus,
    webhooks,
};
use sqlx::PgPool;

use super::prelude::*;

/// The proposal row a vote is judged against (share-locked).
#[derive(Debug)]
struct VotingWindow {
    status: ProposalStatus,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
}

/// Applies the vote, once it passes the shared rules. The proposal row is share-locked, so a concurrent close either sees this
/// vote or this vote sees the proposal closed: never a vote counted after the final tally.
pub async fn apply(pool: &PgPool, job: &CastVote) -> Result<Applied, JobError> {
    super::check(job)?;
    apply_once(pool, Claim::Row, async |tx| {
        // A re-delivery (or a retry's identical push, even after the proposal closed) of a vote
        // that is already counted, or was replaced by a later one, changes nothing and is not
        // an error.
        let superseded = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM votes
                              WHERE voter_user_id = $1 AND proposal_id = $2
                                AND (cast_at, id) >= ($3, $4)) AS "superseded!""#,
            job.voter_id,
            job.proposal_id,
            job.cast_at,
            job.vote_id
        )
        .fetch_one(&mut *tx)
        .await?;
        if superseded {
            return Ok(None);
        }
        let proposal = sqlx::query_as!(
            VotingWindow,
            r#"SELECT status AS "status: ProposalStatus", vote_start_time AS starts,
                      vote_end_time AS ends
               FROM proposals WHERE id = $1 FOR SHARE"#,
            job.proposal_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let window = existing(proposal, format_args!("proposal {}", job.proposal_id))?;
        let VotingWindow {
            status,
            starts,
            ends,
        } = window;
        if status != ProposalStatus::Active {
            return Err(JobError::Permanent(format!(
                "proposal {} is {status}: votes are accepted only while it is ACTIVE",
                job.proposal_id
            )));
        }
        if job.cast_at < starts || job.cast_at > ends {
            return Err(JobError::Permanent(format!(
                "the vote was cast at {} outside the voting window {starts} – {ends}",
                job.cast_at
            )));
        }
        store::ensure_user(tx, job.voter_id).await?;
        // Insert, or replace an earlier vote; an equal or older vote (a re-delivery, or an
        // older vote arriving late) changes nothing.
        let upsert = sqlx::query!(
            "INSERT INTO votes (id, proposal_id, voter_user_id, vote_value, rationale, cast_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (voter_user_id, proposal_id) DO UPDATE
               SET id = EXCLUDED.id, vote_value = EXCLUDED.vote_value,
                   rationale = EXCLUDED.rationale, cast_at = EXCLUDED.cast_at
               WHERE (votes.cast_at, votes.id) < (EXCLUDED.cast_at, EXCLUDED.id)",
            job.vote_id,
            job.proposal_id,
            job.voter_id,
            job.choice as Choice,
            job.rationale,
            job.cast_at
        );
        if !inserted(upsert, tx).await? {
            return Ok(None);
        }
        let data = serde_json::json!({
            "vote_id": job.vote_id,
            "proposal_id": job.proposal_id,
            "voter_id": job.voter_id,
            "choice": job.choice,
            "cast_at": job.cast_at,
        });
        Ok(Some(
            Effect::audit("VOTE_CAST", "proposal", job.proposal_id)
                .by(job.voter_id)
                .details(serde_json::json!({ "vote_id": job.vote_id, "choice": job.choice }))
                .emit(webhooks::VOTE_CAST, data),
        ))
    })
    .await
}
