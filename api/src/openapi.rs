//! The reusable parts of the OpenAPI 3.1 document: the problem+json error responses, the bodies
//! of the `202 Accepted` answers, the `Idempotency-Key` header and the bearer security scheme.
//!
//! [`ApiDoc`] is the document's frame (info, shared components, tags); its paths come from the
//! route declarations of `routes` (each handler's `#[utoipa::path]`), and [`OpsDoc`] documents
//! the operations routes of `coin_shared::ops`.

use coin_shared::domain::FieldError;
use serde::Serialize;
use utoipa::{
    IntoParams, Modify, ToResponse, ToSchema,
    openapi::{
        self, ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, ResponseBuilder,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use uuid::Uuid;

use crate::{
    accepted::{AcceptedBody, SingleAccepted},
    problem::Problem,
};

const DESCRIPTION: &str = "\
People's Coin: goodwill actions, wallets and liquid-democracy governance.

Every command (a `POST` or `DELETE` that changes state) is validated, authorized and enqueued as \
a job; it answers `202 Accepted` with `{job_id, <entity>_id, status_url}` and the job is applied \
by a worker. Poll `status_url` (`GET /v1/jobs/{id}`) for the outcome: a command that breaks a \
rule only the database can judge (an illegal proposal transition, a vote outside its window, a \
delegation cycle) fails its job permanently, with the reason in `last_error`.

Commands take an optional `Idempotency-Key` header. Reads of public data need no token; \
everything else needs a bearer JWT, and is rate-limited per token (`429` with `Retry-After`). \
Every answer carries an `X-Request-Id` (the client's, if it sent a sane one).

Every error is an RFC 7807 `application/problem+json` document (schema `Problem`), including \
those of no operation: an unknown path answers `404` (component response `NoRoute`) and a \
method a path does not list answers `405` (component response `MethodNotAllowed`).";

/// The document's frame: info, the shared components (the error responses the response sets of
/// `crate::responses` refer to, the `202` bodies of `crate::accepted::Accepted`), the tags.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "People's Coin API", description = DESCRIPTION),
    components(
        schemas(
            Problem,
            FieldError,
            GoodwillAccepted,
            ProposalAccepted,
            VoteAccepted,
            DelegationAccepted,
            CouncilMemberAccepted,
            CommandAccepted,
            WebhookEndpointAccepted,
            BatchAccepted,
        ),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            NoRoute,
            MethodNotAllowed,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            UnprocessableEntity,
            TooManyRequests,
            ServiceUnavailable,
            InternalError,
        ),
    ),
    modifiers(&BearerSecurity),
    tags(
        (name = "goodwill", description = "Goodwill actions: the points members earn."),
        (name = "proposals", description = "Proposals, their lifecycle, votes and tallies."),
        (name = "delegations", description = "Transitive delegation of voting weight."),
        (name = "council", description = "Council membership (operators)."),
        (name = "users", description = "Public reads about users and wallets."),
        (name = "activity", description = "The public feed of state changes."),
        (name = "jobs", description = "Where an enqueued command stands; for operators, \
            the search, cancel and bulk actions by filter."),
        (name = "queues", description = "Every queue's depth, latency and rates; pause and \
            resume (operators)."),
        (name = "dead jobs", description = "Jobs that failed for good (operators)."),
        (name = "webhooks", description = "Outbound webhook endpoints (operators)."),
        (name = "operations", description = "Health, metrics and this document."),
    )
)]
pub struct ApiDoc;

/// The operations routes `coin_shared::ops::router` serves (declared there, with their
/// `#[utoipa::path]`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    coin_shared::ops::livez,
    coin_shared::ops::health,
    coin_shared::ops::metrics
))]
pub struct OpsDoc;

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
                "A JWT whose `sub` is the caller's user id and whose role claim (`role` unless \
                 `JWT_ROLE_CLAIM` says otherwise) is `member`, `council`, `operator` or \
                 `service`: signed by the issuer's key set (RS256, ES256, EdDSA, by `kid`) or, \
                 in development, HS256 with the API's `JWT_SECRET`.",
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

        impl AcceptedBody for $name {}

        impl SingleAccepted for $name {
            fn of(job_id: Uuid, $entity: Uuid) -> Self {
                Self {
                    job_id,
                    $entity,
                    status_url: format!("/v1/jobs/{job_id}"),
                }
            }
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

impl AcceptedBody for WebhookEndpointAccepted {
    const DESCRIPTION: &'static str = "Enqueued; the `secret` is shown only here.";
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

impl AcceptedBody for BatchAccepted {
    const DESCRIPTION: &'static str =
        "At least one item was enqueued; `results` has every item's ids or errors.";
    const LOCATION: bool = false;
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
    Conflict => "A request with the same `Idempotency-Key` is still in flight (retry shortly), \
        or the state of the entity refuses the action (`detail` says what it is doing: a job \
        that is running and cannot be stopped, or that already finished).";
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
