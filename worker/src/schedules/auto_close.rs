//! Auto-close: ACTIVE proposals whose `vote_end_time` has passed are closed with their final
//! tally, through the same transition as a council's close.
//!
//! Exactly once: the tick is claimed, and each close uses a command id derived from the
//! proposal id, so a second attempt anywhere (another tick, another replica) is recognised by
//! `applied_commands` and changes nothing; a proposal a council member closed meanwhile is
//! skipped.

use apalis_core::{error::BoxDynError, task::data::Data};
use apalis_cron::Tick;
use coin_shared::jobs::Transition;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::runs::{once, tick_time};
use crate::{
    context::JobContext,
    error::JobError,
    jobs::{Applied, governance::proposals},
};

/// Proposals closed per tick at most (the next tick takes the rest).
const LIMIT: i64 = 200;

/// The cron handler.
pub async fn tick(tick: Tick, ctx: Data<JobContext>) -> Result<String, BoxDynError> {
    Ok(once(
        &ctx.pool,
        &ctx.worker_id,
        "auto_close",
        tick_time(&tick),
        run(&ctx.pool),
    )
    .await)
}

/// The command id of the automatic close of `proposal_id` (the same on every replica).
pub fn command_id(proposal_id: Uuid) -> Uuid {
    let digest = Sha256::digest(format!("auto-close:{proposal_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

/// Closes every ACTIVE proposal past its end; returns how many it closed.
pub async fn run(pool: &PgPool) -> Result<serde_json::Value, JobError> {
    let due = sqlx::query_scalar!(
        "SELECT id FROM proposals WHERE status = 'ACTIVE' AND vote_end_time <= now()
         ORDER BY vote_end_time LIMIT $1",
        LIMIT
    )
    .fetch_all(pool)
    .await?;
    let mut closed = 0;
    for proposal_id in &due {
        match proposals::transition(
            pool,
            command_id(*proposal_id),
            *proposal_id,
            Transition::Close,
            None,
        )
        .await
        {
            Ok(Applied::Done) => {
                closed += 1;
                tracing::info!(proposal.id = %proposal_id, "proposal closed automatically");
            }
            Ok(Applied::AlreadyApplied) => {}
            // Closed or rejected by someone else since the query: nothing to do.
            Err(JobError::Permanent(reason)) => {
                tracing::debug!(proposal.id = %proposal_id, %reason, "auto-close skipped");
            }
            Err(e) => return Err(e),
        }
    }
    metrics::counter!(coin_shared::metric_names::PROPOSALS_AUTO_CLOSED_TOTAL).increment(closed);
    Ok(json!({ "due": due.len(), "closed": closed }))
}
