//! The `governance` queue: proposals, delegations and council membership, one command per job.

mod council;
mod delegations;
pub(crate) mod proposals;
mod webhook_endpoints;

use std::time::Instant;

use apalis_core::{error::BoxDynError, task::data::Data};
use coin_shared::jobs::{Governance, Job};
use sqlx::PgPool;

use super::{Applied, finish};
use crate::{context::JobContext, error::JobError};

/// The apalis handler.
pub async fn handle(job: Governance, ctx: Data<JobContext>) -> Result<String, BoxDynError> {
    let started = Instant::now();
    finish(Governance::QUEUE, started, apply(&ctx.pool, &job).await)
}

/// Applies one governance command in one transaction with its audit row, once it passes the
/// shared rules (the API's own): a broken rule fails it permanently before anything is written.
pub async fn apply(pool: &PgPool, job: &Governance) -> Result<Applied, JobError> {
    super::check(job)?;
    match job {
        Governance::CreateProposal { .. } => proposals::create(pool, job).await,
        Governance::TransitionProposal {
            command_id,
            proposal_id,
            transition,
            requested_by,
        } => {
            proposals::transition(
                pool,
                *command_id,
                *proposal_id,
                *transition,
                Some(*requested_by),
            )
            .await
        }
        Governance::CreateDelegation {
            delegation_id,
            delegator_id,
            delegate_id,
            proposal_id,
        } => {
            delegations::create(
                pool,
                *delegation_id,
                *delegator_id,
                *delegate_id,
                *proposal_id,
            )
            .await
        }
        Governance::RevokeDelegation {
            command_id,
            delegation_id,
            requested_by,
        } => delegations::revoke(pool, *command_id, *delegation_id, *requested_by).await,
        Governance::AddCouncilMember { .. } => council::add(pool, job).await,
        Governance::RegisterWebhookEndpoint { .. } => webhook_endpoints::register(pool, job).await,
        Governance::EndCouncilMembership {
            command_id,
            member_id,
            end_date,
            requested_by,
        } => council::end(pool, *command_id, *member_id, *end_date, *requested_by).await,
    }
}
