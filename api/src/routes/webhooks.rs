//! Outbound webhook endpoints: an operator registers a URL and the event types it receives. The
//! signing secret is generated here and shown only in this answer; the worker stores it.

use axum::{
    extract::State,
    http::{HeaderMap, Uri},
    response::Response,
};
use coin_shared::{
    jobs::{Governance, RegisterWebhookEndpoint},
    webhooks::WebhookSecret,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{Caller, Role},
    commands::{CommandRequest, Prepared},
    extract::ApiJson,
    openapi::{
        BadRequest, Conflict, Forbidden, IdempotencyKeyHeader, InternalError, PayloadTooLarge,
        ServiceUnavailable, TooManyRequests, Unauthorized, UnprocessableEntity,
        UnsupportedMediaType, WebhookEndpointAccepted,
    },
    problem::ApiError,
    state::AppState,
};

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
#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints",
    operation_id = "create_webhook_endpoint",
    tag = "webhooks",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = EndpointRequest,
    responses(
        (status = 202, description = "Enqueued; the `secret` is shown only here.",
            body = WebhookEndpointAccepted, headers(
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
    ApiJson(body, raw): ApiJson<EndpointRequest>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Operator], "registering a webhook endpoint")?;
    let command = CommandRequest::new(&caller, &headers, "POST", uri.path(), Some(&raw))?;
    command
        .answer(&state, |accepted| {
            // A retry with the same Idempotency-Key carries the first answer's secret, so the
            // job it pushes again (if the first never arrived) stores the secret the operator
            // was shown.
            let secret = accepted
                .first_answer
                .and_then(|first| first["secret"].as_str())
                .map(WebhookSecret::new)
                .unwrap_or_else(WebhookSecret::generate);
            let answer = serde_json::json!({
                "job_id": command.job_id,
                "endpoint_id": command.entity_id,
                "secret": secret.expose(),
                "status_url": format!("/v1/jobs/{}", command.job_id),
            });
            let job = register_job(caller, body.clone(), command.entity_id, secret)?;
            Ok(Prepared {
                jobs: vec![(command.job_id, job)],
                body: answer,
            })
        })
        .await
}

/// Turns a `POST /v1/webhook-endpoints` body into its job (no role check, no I/O): the URL
/// trimmed, the event types sorted and deduplicated, then the shared rules the worker applies.
pub fn register_job(
    caller: Caller,
    body: EndpointRequest,
    endpoint_id: Uuid,
    secret: WebhookSecret,
) -> Result<Governance, ApiError> {
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
    super::validated(Governance::RegisterWebhookEndpoint(command))
}
