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
