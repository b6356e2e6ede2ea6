//! The `governance` queue: proposals, delegations and council membership, one command per job.

mod council;
mod delegations;
pub(crate) mod proposals;
mod webhook_endpoints;

use coin_shared::jobs::Governance;
use sqlx::PgPool;

use super::Applied;
use crate::error::JobError;

/// Applies one governance command in one transaction with its audit row, once it passes the
/// shared rules (the API's own): a broken rule fails it permanently before anything is written.
pub async fn apply(pool: &PgPool, job: &Governance) -> Result<Applied, JobError> {
    super::check(job)?;
    match job {
        Governance::CreateProposal(c) => proposals::create(pool, c).await,
        Governance::TransitionProposal(c) => {
            proposals::transition(
                pool,
                c.command_id,
                c.proposal_id,
                c.transition,
                Some(c.requested_by),
            )
            .await
        }
        Governance::CreateDelegation(c) => delegations::create(pool, c).await,
        Governance::RevokeDelegation(c) => delegations::revoke(pool, c).await,
        Governance::AddCouncilMember(c) => council::add(pool, c).await,
        Governance::RegisterWebhookEndpoint(c) => webhook_endpoints::register(pool, c).await,
        Governance::EndCouncilMembership(c) => council::end(pool, c).await,
        Governance::SetWebhookEndpointStatus(c) => webhook_endpoints::set_status(pool, c).await,
    }
}
