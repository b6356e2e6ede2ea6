//! Council membership (operators): add with role and dates, end.

use chrono::{DateTime, Utc};
use coin_shared::jobs::{AddCouncilMember, CouncilRole, EndCouncilMembership, Governance};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    accepted::Accepted,
    auth::Role,
    commands::{Command, Draft, validated},
    openapi::{CommandAccepted, CouncilMemberAccepted, IdempotencyKeyHeader},
    problem::ApiResult,
    responses::{CommandResponses, EntityCommandResponses},
};

const COUNCIL_MANAGERS: &[Role] = &[Role::Operator];

/// The body of `POST /v1/council-members`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// The member.
    pub user_id: Uuid,
    /// CHAIR, MEMBER (default) or OBSERVER.
    pub role: Option<CouncilRole>,
    /// Start of the term (default: now).
    pub start_date: Option<DateTime<Utc>>,
    /// End of the term, if known.
    pub end_date: Option<DateTime<Utc>>,
}

/// `POST /v1/council-members` (operator).
#[utoipa::path(post, path = "/v1/council-members", operation_id = "add_council_member",
    tag = "council", params(IdempotencyKeyHeader), request_body = AddMember,
    responses(Accepted<CouncilMemberAccepted>, CommandResponses))]
pub async fn add(command: Command<AddMember>) -> ApiResult<Accepted<CouncilMemberAccepted>> {
    command.require(COUNCIL_MANAGERS, "managing the council")?;
    command.submit_with(add_job).await
}

/// Turns a `POST /v1/council-members` body into its job: the term starts now unless given,
/// then the shared rules the worker applies too.
pub fn add_job(draft: Draft<AddMember>) -> ApiResult<Governance> {
    let Draft {
        caller,
        body,
        id,
        at,
    } = draft;
    validated(Governance::AddCouncilMember(AddCouncilMember {
        member_id: id,
        user_id: body.user_id,
        role: body.role.unwrap_or(CouncilRole::Member),
        start_date: body.start_date.unwrap_or(at),
        end_date: body.end_date,
        requested_by: caller.user_id,
    }))
}

/// The body of `POST /v1/council-members/{id}/end` (`{}` ends it now).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndMembership {
    /// When it ends (default: now).
    pub end_date: Option<DateTime<Utc>>,
}

/// `POST /v1/council-members/{id}/end` (operator).
#[utoipa::path(post, path = "/v1/council-members/{id}/end",
    operation_id = "end_council_membership", tag = "council",
    params(
        ("id" = Uuid, Path, description = "The membership (the `member_id` of its creation)."),
        IdempotencyKeyHeader,
    ),
    request_body = EndMembership, responses(Accepted<CommandAccepted>, EntityCommandResponses))]
pub async fn end(command: Command<EndMembership>) -> ApiResult<Accepted<CommandAccepted>> {
    command.require(COUNCIL_MANAGERS, "managing the council")?;
    let member_id = command.id("council membership")?;
    command.submit_with(|draft| end_job(member_id, draft)).await
}

/// Turns a `POST /v1/council-members/{id}/end` body into its job: it ends now unless given,
/// then the shared rules the worker applies too.
pub fn end_job(member_id: Uuid, draft: Draft<EndMembership>) -> ApiResult<Governance> {
    validated(Governance::EndCouncilMembership(EndCouncilMembership {
        command_id: draft.id,
        member_id,
        end_date: draft.body.end_date.unwrap_or(draft.at),
        requested_by: draft.caller.user_id,
    }))
}
