//! Delegations: a member hands its weight to another, globally or for one proposal, and may
//! revoke it. Cycles and self-delegation are refused by the worker (and self-delegation here).

use axum::{
    extract::{Path, State},
    http::{HeaderMap, Uri},
    response::Response,
};
use coin_shared::jobs::{CreateDelegation, Governance, RevokeDelegation};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{Caller, Role},
    commands::CommandRequest,
    extract::ApiJson,
    openapi::{
        BadRequest, CommandAccepted, Conflict, DelegationAccepted, Forbidden, IdempotencyKeyHeader,
        InternalError, NotFound, PayloadTooLarge, ServiceUnavailable, TooManyRequests,
        Unauthorized, UnprocessableEntity, UnsupportedMediaType,
    },
    problem::ApiError,
    state::AppState,
};

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
#[utoipa::path(
    post,
    path = "/v1/delegations",
    operation_id = "create_delegation",
    tag = "delegations",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = DelegationRequest,
    responses(
        (status = 202, description = "Enqueued.", body = DelegationAccepted, headers(
            ("Location" = String, description = "The `status_url`."),
            ("Idempotent-Replayed" = String, description = "`true` on a replayed answer."),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    ApiJson(body, raw): ApiJson<DelegationRequest>,
) -> Result<Response, ApiError> {
    caller.require(DELEGATING_ROLES, "delegating")?;
    let command = CommandRequest::new(&caller, &headers, "POST", uri.path(), Some(&raw))?;
    command
        .submit(&state, "delegation_id", |_| {
            create_job(caller, body.clone(), command.entity_id)
        })
        .await
}

/// Turns a `POST /v1/delegations` body into its job (no role check, no I/O): the caller
/// delegates as itself, through the shared rules the worker applies too.
pub fn create_job(
    caller: Caller,
    body: DelegationRequest,
    delegation_id: Uuid,
) -> Result<Governance, ApiError> {
    super::validated(Governance::CreateDelegation(CreateDelegation {
        delegation_id,
        delegator_id: caller.user_id,
        delegate_id: body.delegate_id,
        proposal_id: body.proposal_id,
    }))
}

/// The job of a revocation (no role check, no I/O), through the shared rules.
pub fn revoke_job(
    caller: Caller,
    delegation_id: Uuid,
    command_id: Uuid,
) -> Result<Governance, ApiError> {
    super::validated(Governance::RevokeDelegation(RevokeDelegation {
        command_id,
        delegation_id,
        requested_by: caller.user_id,
    }))
}

/// `DELETE /v1/delegations/{id}`: the delegator revokes it.
#[utoipa::path(
    delete,
    path = "/v1/delegations/{id}",
    operation_id = "revoke_delegation",
    tag = "delegations",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The delegation."),
        IdempotencyKeyHeader,
    ),
    responses(
        (status = 202, description = "Enqueued.", body = CommandAccepted, headers(
            ("Location" = String, description = "The `status_url`."),
            ("Idempotent-Replayed" = String, description = "`true` on a replayed answer."),
            ("X-Delegation-Id" = String, description = "The delegation being revoked."),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(DELEGATING_ROLES, "revoking a delegation")?;
    let delegation_id = super::parse_id(&raw_id, "delegation")?;
    let command = CommandRequest::new(&caller, &headers, "DELETE", uri.path(), None)?;
    let mut response = command
        .submit(&state, "command_id", |_| {
            revoke_job(caller, delegation_id, command.entity_id)
        })
        .await?;
    if let Ok(value) = axum::http::HeaderValue::from_str(&delegation_id.to_string()) {
        response.headers_mut().insert("x-delegation-id", value);
    }
    Ok(response)
}
