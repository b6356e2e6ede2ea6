//! Delegations: a member hands its weight to another, globally or for one proposal, and may
//! revoke it. Cycles and self-delegation are refused by the worker (and self-delegation here).

use coin_shared::jobs::{CreateDelegation, Governance, RevokeDelegation};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    accepted::{Accepted, DelegationIdHeader},
    auth::Role,
    commands::{Command, Draft, NoBody, validated},
    openapi::{CommandAccepted, DelegationAccepted, IdempotencyKeyHeader},
    problem::ApiResult,
    responses::{CommandResponses, StepResponses},
};

/// The `202` of a revocation: its own id, and the delegation in `X-Delegation-Id`.
pub type RevocationAccepted = Accepted<CommandAccepted, DelegationIdHeader>;

const DELEGATING_ROLES: &[Role] = &[Role::Member, Role::Council, Role::Operator];

/// The body of `POST /v1/delegations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationRequest {
    /// Who receives the caller's weight.
    pub delegate_id: Uuid,
    /// Limit it to one proposal; absent for every proposal.
    pub proposal_id: Option<Uuid>,
}

/// `POST /v1/delegations`: the caller delegates as itself.
///
/// Self-delegation answers 422; a delegation that would close a cycle fails the job
/// permanently.
#[utoipa::path(post, path = "/v1/delegations", operation_id = "create_delegation",
    tag = "delegations", params(IdempotencyKeyHeader),
    request_body = DelegationRequest, responses(Accepted<DelegationAccepted>, CommandResponses))]
pub async fn create(
    command: Command<DelegationRequest>,
) -> ApiResult<Accepted<DelegationAccepted>> {
    command.require(DELEGATING_ROLES, "delegating")?;
    command.submit_with(create_job).await
}

/// Turns a `POST /v1/delegations` body into its job: the caller delegates as itself, through
/// the shared rules the worker applies too.
pub fn create_job(draft: Draft<DelegationRequest>) -> ApiResult<Governance> {
    validated(Governance::CreateDelegation(CreateDelegation {
        delegation_id: draft.id,
        delegator_id: draft.caller.user_id,
        delegate_id: draft.body.delegate_id,
        proposal_id: draft.body.proposal_id,
    }))
}

/// The job of a revocation, through the shared rules.
pub fn revoke_job(delegation_id: Uuid, draft: Draft) -> ApiResult<Governance> {
    validated(Governance::RevokeDelegation(RevokeDelegation {
        command_id: draft.id,
        delegation_id,
        requested_by: draft.caller.user_id,
    }))
}

/// `DELETE /v1/delegations/{id}`: the delegator revokes it.
#[utoipa::path(delete, path = "/v1/delegations/{id}", operation_id = "revoke_delegation",
    tag = "delegations",
    params(("id" = Uuid, Path, description = "The delegation."), IdempotencyKeyHeader),
    responses(RevocationAccepted, StepResponses))]
pub async fn revoke(command: Command<NoBody>) -> ApiResult<RevocationAccepted> {
    command
        .step(
            DELEGATING_ROLES,
            "revoking a delegation",
            "delegation",
            revoke_job,
        )
        .await
}
