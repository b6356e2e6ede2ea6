//! Outbound webhook endpoints: an operator registers a URL and the event types it receives (the
//! signing secret is generated here and shown only in this answer; the worker stores it), and
//! disables or enables one.

use coin_shared::{
    domain::FieldError,
    jobs::{Governance, RegisterWebhookEndpoint, SetWebhookEndpointStatus},
    status::EndpointStatus,
    webhook_target,
    webhooks::WebhookSecret,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accepted::{Accepted, WebhookEndpointIdHeader};
use crate::auth::Role;
use crate::commands::{Acceptance, Command, Draft, Prepared, validated};
use crate::openapi::{CommandAccepted, IdempotencyKeyHeader, WebhookEndpointAccepted};
use crate::problem::{ApiError, ApiResult};
use crate::responses::{CommandResponses, StepResponses};

/// The body of `POST /v1/webhook-endpoints`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRequest {
    /// Where events are POSTed (`http://` or `https://`, at most 2000 characters).
    #[schema(max_length = 2000)]
    pub url: String,
    /// Event types to receive (`goodwill.recorded`, `vote.cast`, `proposal.opened`,
    /// `proposal.closed`, `delegation.changed`).
    #[schema(min_items = 1)]
    pub event_types: Vec<String>,
}

/// `POST /v1/webhook-endpoints` (operator): answers 202 with `{endpoint_id, secret, job_id,
/// status_url}`.
#[utoipa::path(post, path = "/v1/webhook-endpoints", operation_id = "create_webhook_endpoint",
    tag = "webhooks", params(IdempotencyKeyHeader), request_body = EndpointRequest,
    responses(Accepted<WebhookEndpointAccepted>, CommandResponses))]
pub async fn create(
    command: Command<EndpointRequest>,
) -> ApiResult<Accepted<WebhookEndpointAccepted>> {
    command.require(&[Role::Operator], "registering a webhook endpoint")?;
    if !command.state().webhook_allow_private
        && let Some(why) = webhook_target::refusal(command.body.url.trim())
    {
        return Err(ApiError::Validation(vec![FieldError::new(
            "url",
            format!("{why}: webhooks are not delivered inside (WEBHOOK_ALLOW_PRIVATE)"),
        )]));
    }
    command
        .answer(|accepted| prepare(command.draft(accepted), accepted))
        .await
}

/// The job and the answer of a registration as of `accepted`: the answer shows the secret
/// once. A retry with the same Idempotency-Key carries the first answer's secret, so the job it
/// pushes again (if the first never arrived) stores the secret the operator was shown.
fn prepare(
    draft: Draft<EndpointRequest>,
    accepted: &Acceptance<'_>,
) -> ApiResult<Prepared<Governance>> {
    let secret = accepted
        .first_answer
        .and_then(|first| first["secret"].as_str())
        .map(WebhookSecret::new)
        .unwrap_or_else(WebhookSecret::generate);
    let answer = serde_json::to_value(WebhookEndpointAccepted {
        job_id: accepted.job_id.0,
        endpoint_id: accepted.entity_id,
        secret: secret.expose().to_owned(),
        status_url: format!("/v1/jobs/{}", accepted.job_id),
    })
    .map_err(|e| ApiError::Internal(e.into()))?;
    let job = register_job(draft, secret)?;
    Ok(Prepared {
        jobs: vec![(accepted.job_id, job)],
        body: answer,
    })
}

/// Turns a `POST /v1/webhook-endpoints` body into its job (no role check, no I/O): the URL
/// trimmed, the event types sorted and deduplicated, then the shared rules the worker applies.
pub fn register_job(draft: Draft<EndpointRequest>, secret: WebhookSecret) -> ApiResult<Governance> {
    let Draft {
        caller,
        body,
        id: endpoint_id,
        ..
    } = draft;
    let mut event_types = body.event_types;
    event_types.sort();
    event_types.dedup();
    let command = RegisterWebhookEndpoint {
        endpoint_id,
        url: body.url.trim().to_owned(),
        event_types,
        secret,
        requested_by: caller.user_id,
    };
    validated(Governance::RegisterWebhookEndpoint(command))
}

/// The `202` of a status change: its own id, and the endpoint in `X-Webhook-Endpoint-Id`.
pub type StatusAccepted = Accepted<CommandAccepted, WebhookEndpointIdHeader>;

step_routes! {
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint."), IdempotencyKeyHeader),
    responses(StatusAccepted, StepResponses),
    docs(
        ///
        /// Enqueues the change; an unknown endpoint fails the job permanently, and an endpoint
        /// already in that status is left as it is.
    ),
    command(
        &[Role::Operator], "changing a webhook endpoint's status", "webhook endpoint"
    ) -> ApiResult<StatusAccepted> = status_job;
    /// `POST /v1/webhook-endpoints/{id}/disable` (operator): the endpoint gets no new
    /// deliveries until it is enabled again.
    disable = EndpointStatus::Disabled, "/v1/webhook-endpoints/{id}/disable", "disable_webhook_endpoint";
    /// `POST /v1/webhook-endpoints/{id}/enable` (operator): deliveries resume for new events
    /// (what it missed is not resent).
    enable = EndpointStatus::Active, "/v1/webhook-endpoints/{id}/enable", "enable_webhook_endpoint";
}

/// The job of a status change, through the shared rules.
pub fn status_job(endpoint_id: Uuid, draft: Draft<EndpointStatus>) -> ApiResult<Governance> {
    validated(Governance::SetWebhookEndpointStatus(
        SetWebhookEndpointStatus {
            command_id: draft.id,
            endpoint_id,
            status: draft.body,
            reason: None,
            requested_by: draft.caller.user_id,
        },
    ))
}
