//! Council membership (operators): add with role and dates, end.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, Uri},
    response::Response,
};
use chrono::{DateTime, Utc};
use coin_shared::jobs::{AddCouncilMember, CouncilRole, EndCouncilMembership, Governance};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{Caller, Role},
    commands::CommandRequest,
    extract::ApiJson,
    openapi::{
        BadRequest, CommandAccepted, Conflict, CouncilMemberAccepted, Forbidden,
        IdempotencyKeyHeader, InternalError, NotFound, PayloadTooLarge, ServiceUnavailable,
        TooManyRequests, Unauthorized, UnprocessableEntity, UnsupportedMediaType,
    },
    problem::ApiError,
    state::AppState,
};

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
#[utoipa::path(
    post,
    path = "/v1/council-members",
    operation_id = "add_council_member",
    tag = "council",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = AddMember,
    responses(
        (status = 202, description = "Enqueued.", body = CouncilMemberAccepted, headers(
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
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    ApiJson(body, raw): ApiJson<AddMember>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Operator], "managing the council")?;
    let command = CommandRequest::new(&caller, &headers, "POST", uri.path(), Some(&raw))?;
    command
        .submit(&state, "member_id", |accepted| {
            add_job(caller, body.clone(), command.entity_id, accepted.at)
        })
        .await
}

/// Turns a `POST /v1/council-members` body into its job (no role check, no I/O): the term
/// starts now unless given, then the shared rules the worker applies too.
pub fn add_job(
    caller: Caller,
    body: AddMember,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Governance, ApiError> {
    super::validated(Governance::AddCouncilMember(AddCouncilMember {
        member_id,
        user_id: body.user_id,
        role: body.role.unwrap_or(CouncilRole::Member),
        start_date: body.start_date.unwrap_or(now),
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
#[utoipa::path(
    post,
    path = "/v1/council-members/{id}/end",
    operation_id = "end_council_membership",
    tag = "council",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The membership (the `member_id` of its creation)."),
        IdempotencyKeyHeader,
    ),
    request_body = EndMembership,
    responses(
        (status = 202, description = "Enqueued.", body = CommandAccepted, headers(
            ("Location" = String, description = "The `status_url`."),
            ("Idempotent-Replayed" = String, description = "`true` on a replayed answer."),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    Path(raw_id): Path<String>,
    ApiJson(body, raw): ApiJson<EndMembership>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Operator], "managing the council")?;
    let member_id = super::parse_id(&raw_id, "council membership")?;
    let command = CommandRequest::new(&caller, &headers, "POST", uri.path(), Some(&raw))?;
    command
        .submit(&state, "command_id", |accepted| {
            end_job(
                caller,
                member_id,
                body.clone(),
                command.entity_id,
                accepted.at,
            )
        })
        .await
}

/// Turns a `POST /v1/council-members/{id}/end` body into its job (no role check, no I/O): it
/// ends now unless given, then the shared rules the worker applies too.
pub fn end_job(
    caller: Caller,
    member_id: Uuid,
    body: EndMembership,
    command_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Governance, ApiError> {
    super::validated(Governance::EndCouncilMembership(EndCouncilMembership {
        command_id,
        member_id,
        end_date: body.end_date.unwrap_or(now),
        requested_by: caller.user_id,
    }))
}
