//! The reusable parts of the OpenAPI 3.1 document: the problem+json error responses, the bodies
//! of the `202 Accepted` answers, the `Idempotency-Key` header and the bearer security scheme.
//!
//! The document itself (`ApiDoc`: every path, from the handlers' `#[utoipa::path]`) and the
//! `GET /openapi.json` route live in `routes::openapi`, next to the handlers it lists.

use serde::Serialize;
use utoipa::{
    IntoParams, Modify, ToResponse, ToSchema,
    openapi::{
        self, ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, ResponseBuilder,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use uuid::Uuid;

/// The name of the bearer security scheme, as `security(("bearer" = []))` refers to it.
pub const BEARER: &str = "bearer";
/// The media type of every error answer (RFC 7807).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Adds the bearer JWT security scheme to the document's components.
pub struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, doc: &mut OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "An HS256 JWT whose `sub` is the caller's user id and whose `role` is `member`, \
                 `council`, `operator` or `service`; signed with the API's `JWT_SECRET`.",
            ))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The `Idempotency-Key` header every command (POST/DELETE that enqueues a job) honours.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// Makes the command idempotent: a repeat with the same key and the same body answers the
    /// first answer again (with `Idempotent-Replayed: true`) and has one effect; the same key
    /// with another body answers 422, and while the first request is still in flight 409. Keys
    /// are scoped to the caller and the path, and kept for `IDEMPOTENCY_TTL_SECS`.
    #[param(
        rename = "Idempotency-Key",
        value_type = String,
        required = false,
        min_length = 1,
        max_length = 255
    )]
    pub idempotency_key: Option<String>,
}

macro_rules! accepted_body {
    ($(#[$doc:meta])* $name:ident, $entity:ident, $entity_doc:literal) => {
        $(#[$doc])*
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            /// The job the command was enqueued as.
            pub job_id: Uuid,
            #[doc = $entity_doc]
            pub $entity: Uuid,
            /// Where the job's state can be polled (`GET /v1/jobs/{job_id}`); also sent as
            /// `Location`.
            pub status_url: String,
        }
    };
}

accepted_body!(
    /// `202` of `POST /v1/goodwill-actions`.
    GoodwillAccepted,
    action_id,
    "The goodwill action's id, once the job has recorded it."
);
accepted_body!(
    /// `202` of `POST /v1/proposals`.
    ProposalAccepted,
    proposal_id,
    "The new proposal's id, once the job has created it."
);
accepted_body!(
    /// `202` of `POST /v1/proposals/{id}/votes`.
    VoteAccepted,
    vote_id,
    "The vote's id."
);
accepted_body!(
    /// `202` of `POST /v1/delegations`.
    DelegationAccepted,
    delegation_id,
    "The delegation's id (what `DELETE /v1/delegations/{id}` takes)."
);
accepted_body!(
    /// `202` of `POST /v1/council-members`.
    CouncilMemberAccepted,
    member_id,
    "The membership's id (what `POST /v1/council-members/{id}/end` takes)."
);
accepted_body!(
    /// `202` of a command on an existing entity (a proposal's open, close or reject, a
    /// delegation's revocation, a council membership's end).
    CommandAccepted,
    command_id,
    "This command's own id (the entity it acts on is the one in the path)."
);

/// `202` of `POST /v1/webhook-endpoints`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointAccepted {
    /// The job the registration was enqueued as.
    pub job_id: Uuid,
    /// The endpoint's id.
    pub endpoint_id: Uuid,
    /// The signing secret (`whsec_…`) of the deliveries; shown only in this answer (and in its
    /// idempotent replays).
    pub secret: String,
    /// Where the job's state can be polled; also sent as `Location`.
    pub status_url: String,
}

/// `202` of `POST /v1/goodwill-actions:batch`: the outcome of every item, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAccepted {
    /// Items enqueued.
    pub accepted: u64,
    /// Items refused (their `errors` say why).
    pub rejected: u64,
    /// One entry per item of `actions`, in order.
    pub results: Vec<BatchItem>,
}

/// One item of a batch's answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    /// The item was enqueued.
    Accepted(BatchItemAccepted),
    /// The item breaks a rule; nothing was enqueued for it.
    Rejected(BatchItemRejected),
}

/// An enqueued item of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemAccepted {
    /// The item's position in `actions`.
    pub index: u64,
    /// Its job.
    pub job_id: Uuid,
    /// Its goodwill action's id.
    pub action_id: Uuid,
    /// Where its job's state can be polled.
    pub status_url: String,
}

/// A refused item of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemRejected {
    /// The item's position in `actions`.
    pub index: u64,
    /// What is wrong with it; `field` is prefixed with `actions[<index>].`.
    pub errors: Vec<coin_shared::domain::FieldError>,
}

/// `202` of `POST /v1/dead-jobs/{id}/replay`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadJobReplayed {
    /// The job, queued again under the same id.
    pub job_id: String,
    /// Its queue.
    pub queue: String,
    /// Where its state can be polled.
    pub status_url: String,
}

/// `200` of `POST /v1/dead-jobs:replay-all`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayedCount {
    /// How many dead jobs were queued again.
    pub replayed: u64,
}

/// A response header: name, description, and its value's type.
type HeaderSpec = (&'static str, &'static str, openapi::Type);

fn header((_, description, kind): &HeaderSpec) -> openapi::Header {
    HeaderBuilder::new()
        .schema(Some(
            openapi::ObjectBuilder::new().schema_type(kind.clone()),
        ))
        .description(Some(*description))
        .build()
}

/// An error response: `application/problem+json` with the `Problem` schema, and `headers`.
fn problem_response(description: &str, headers: &[HeaderSpec]) -> RefOr<openapi::Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, content);
    for spec in headers {
        response = response.header(spec.0, header(spec));
    }
    RefOr::T(response.build())
}

const RETRY_AFTER: HeaderSpec = (
    "Retry-After",
    "Seconds to wait before retrying.",
    openapi::Type::Integer,
);

macro_rules! problem_responses {
    ($($(#[$doc:meta])* $name:ident => $description:literal $(, $header:expr)*;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<openapi::Response>) {
                (stringify!($name), problem_response($description, &[$($header),*]))
            }
        }
    )*};
}

problem_responses! {
    /// 400.
    BadRequest => "Malformed request: the body is not valid JSON or a field has the wrong type \
        (`errors` names it), a query parameter cannot be parsed, or the `Idempotency-Key` is \
        unusable.";
    /// 401.
    Unauthorized => "The bearer token is missing, malformed, expired or not signed by this API.",
        ("WWW-Authenticate", "Always `Bearer`.", openapi::Type::String);
    /// 403.
    Forbidden => "The token is valid, but its role may not do this (or a member acted for \
        another user).";
    /// 404.
    NotFound => "No such resource: the id in the path is unknown or not a UUID.";
    /// 405: any method a path does not list.
    MethodNotAllowed => "The path exists but not with this method.";
    /// 409.
    Conflict => "A request with the same `Idempotency-Key` is still in flight; retry shortly.";
    /// 413.
    PayloadTooLarge => "The body is larger than `MAX_BODY_BYTES`.";
    /// 415.
    UnsupportedMediaType => "The body is not sent as `Content-Type: application/json`.";
    /// 422.
    UnprocessableEntity => "The request is well-formed but breaks a rule (`errors` lists every \
        field at fault), or its `Idempotency-Key` was already used with a different request.";
    /// 429.
    TooManyRequests => "The token is over `RATE_LIMIT_PER_MINUTE` requests in this minute.",
        RETRY_AFTER;
    /// 503.
    ServiceUnavailable => "The job queue (Redis) or the database cannot answer now; retry \
        shortly.", RETRY_AFTER;
    /// 500.
    InternalError => "An unexpected failure; the detail is logged, not shown.";
}

/// The `404` of a path no route matches.
#[derive(Debug)]
pub struct NoRoute;

impl<'r> ToResponse<'r> for NoRoute {
    fn response() -> (&'r str, RefOr<openapi::Response>) {
        (
            "NoRoute",
            problem_response("No route matches the path (problem type `no-route`).", &[]),
        )
    }
}
