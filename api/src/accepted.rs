//! `202 Accepted`, typed: [`Accepted<T, H>`] is what a command handler returns, and its
//! `utoipa::IntoResponses` is what the handler's `#[utoipa::path]` names, so the documented body
//! (`T`'s schema) and headers are the ones the handler's type says it answers.

use std::{collections::BTreeMap, marker::PhantomData};

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;
use utoipa::{
    IntoResponses, ToSchema,
    openapi::{self, ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder},
};
use uuid::Uuid;

/// The body of a `202` answer: its schema is the documented one, and it says how it is
/// documented.
pub trait AcceptedBody: ToSchema {
    /// The `202`'s description.
    const DESCRIPTION: &'static str = "Enqueued.";
    /// Whether the answer carries a `status_url` (and so a `Location` header).
    const LOCATION: bool = true;
}

/// The body of a command that enqueues one job for one entity: `{job_id, <entity>, status_url}`.
pub trait SingleAccepted: AcceptedBody + serde::Serialize {
    /// The body for `job_id` and the entity (or command) id.
    fn of(job_id: Uuid, entity_id: Uuid) -> Self;
}

/// An extra header naming the entity a command acts on (`X-Proposal-Id`), or none.
pub trait EntityHeader {
    /// Name and description, if the answer has one.
    const HEADER: Option<(&'static str, &'static str)>;
}

/// No entity header.
pub struct NoHeader;

impl EntityHeader for NoHeader {
    const HEADER: Option<(&'static str, &'static str)> = None;
}

/// `X-Proposal-Id`: the proposal a lifecycle step applies to.
pub struct ProposalIdHeader;

impl EntityHeader for ProposalIdHeader {
    const HEADER: Option<(&'static str, &'static str)> =
        Some(("X-Proposal-Id", "The proposal the step applies to."));
}

/// `X-Webhook-Endpoint-Id`: the endpoint a status change applies to.
pub struct WebhookEndpointIdHeader;

impl EntityHeader for WebhookEndpointIdHeader {
    const HEADER: Option<(&'static str, &'static str)> = Some((
        "X-Webhook-Endpoint-Id",
        "The endpoint the change applies to.",
    ));
}

/// `X-Delegation-Id`: the delegation being revoked.
pub struct DelegationIdHeader;

impl EntityHeader for DelegationIdHeader {
    const HEADER: Option<(&'static str, &'static str)> =
        Some(("X-Delegation-Id", "The delegation being revoked."));
}

/// A `202` (or replayed first) answer whose body is documented as `T`, with the entity header
/// `H`.
pub struct Accepted<T, H = NoHeader> {
    response: Response,
    _body: PhantomData<fn() -> (T, H)>,
}

impl<T, H: EntityHeader> Accepted<T, H> {
    /// The answer `body` with `status`; `Location` from its `status_url`, and
    /// `Idempotent-Replayed: true` when `replayed`.
    pub(crate) fn new(status: StatusCode, body: Value, replayed: bool) -> Self {
        let location = body["status_url"]
            .as_str()
            .and_then(|l| HeaderValue::from_str(l).ok());
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(location) = location {
            headers.insert(header::LOCATION, location);
        }
        if replayed {
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        Self {
            response,
            _body: PhantomData,
        }
    }

    /// Sets the entity header `H` to `id` (nothing when `H` is [`NoHeader`]).
    pub fn naming(mut self, id: Uuid) -> Self {
        if let Some((name, _)) = H::HEADER {
            let value = HeaderValue::from_str(&id.to_string());
            if let (Ok(name), Ok(value)) = (header::HeaderName::try_from(name), value) {
                self.response.headers_mut().insert(name, value);
            }
        }
        self
    }
}

impl<T, H> IntoResponse for Accepted<T, H> {
    fn into_response(self) -> Response {
        self.response
    }
}

fn string_header(description: &str) -> openapi::Header {
    HeaderBuilder::new()
        .schema(Some(
            openapi::ObjectBuilder::new().schema_type(openapi::Type::String),
        ))
        .description(Some(description))
        .build()
}

impl<T: AcceptedBody, H: EntityHeader> IntoResponses for Accepted<T, H> {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(T::name())))
            .build();
        let mut response = ResponseBuilder::new()
            .description(T::DESCRIPTION)
            .content("application/json", content);
        if T::LOCATION {
            response = response.header("Location", string_header("The `status_url`."));
        }
        response = response.header(
            "Idempotent-Replayed",
            string_header("`true` on a replayed answer."),
        );
        if let Some((name, description)) = H::HEADER {
            response = response.header(name, string_header(description));
        }
        BTreeMap::from([("202".to_owned(), RefOr::T(response.build()))])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A body with a `status_url`.
    #[derive(ToSchema)]
    #[allow(dead_code)]
    struct CommandAccepted {
        status_url: String,
    }

    impl AcceptedBody for CommandAccepted {}

    /// A body without one.
    #[derive(ToSchema)]
    #[allow(dead_code)]
    struct BatchAccepted {
        accepted: u64,
    }

    impl AcceptedBody for BatchAccepted {
        const LOCATION: bool = false;
    }

    #[test]
    fn an_answer_has_its_location_replay_mark_and_entity_header() {
        let id = Uuid::now_v7();
        let body = json!({"job_id": id, "command_id": id, "status_url": "/v1/jobs/x"});
        let fresh = Accepted::<CommandAccepted, ProposalIdHeader>::new(
            StatusCode::ACCEPTED,
            body.clone(),
            false,
        )
        .naming(id)
        .into_response();
        assert_eq!(fresh.status(), StatusCode::ACCEPTED);
        assert_eq!(fresh.headers()["location"], "/v1/jobs/x");
        assert_eq!(fresh.headers()["x-proposal-id"], id.to_string().as_str());
        assert!(fresh.headers().get("idempotent-replayed").is_none());
        let replayed = Accepted::<CommandAccepted>::new(StatusCode::ACCEPTED, body, true)
            .naming(id)
            .into_response();
        assert_eq!(replayed.headers()["idempotent-replayed"], "true");
        assert!(replayed.headers().get("x-proposal-id").is_none());
    }

    #[test]
    fn the_documented_answer_follows_the_body_and_header_types() {
        let step = Accepted::<CommandAccepted, DelegationIdHeader>::responses();
        let RefOr::T(step) = &step["202"] else {
            panic!("an inline response");
        };
        for header in ["Location", "Idempotent-Replayed", "X-Delegation-Id"] {
            assert!(step.headers.contains_key(header), "{header}");
        }
        let batch = Accepted::<BatchAccepted>::responses();
        let RefOr::T(batch) = &batch["202"] else {
            panic!("an inline response");
        };
        assert!(
            !batch.headers.contains_key("Location"),
            "a batch has no status_url"
        );
        let content = serde_json::to_value(&batch.content["application/json"]).expect("serializes");
        assert_eq!(
            content["schema"]["$ref"],
            "#/components/schemas/BatchAccepted"
        );
    }
}
