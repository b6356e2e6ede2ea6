//! The error answers of each kind of operation, as one `utoipa::IntoResponses` set each: a
//! handler's `#[utoipa::path]` names its success answer and one of these, instead of listing
//! ten problem responses again. Each entry refers to the component response of
//! `crate::openapi` (a problem+json `Problem`).

use std::collections::BTreeMap;

use utoipa::{
    IntoResponses,
    openapi::{self, Ref, RefOr},
};

/// The component response of a problem status, as `crate::openapi` names it; a status it has
/// none for fails the build where a set lists it (each call is evaluated at compile time).
const fn component(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        422 => "UnprocessableEntity",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        _ => panic!("no problem response is declared for this status"),
    }
}

macro_rules! response_sets {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal),* $(,)?];)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
                BTreeMap::from([$((
                    $status.to_string(),
                    RefOr::Ref(Ref::from_response_name(const { component($status) })),
                )),*])
            }
        }
    )*};
}

response_sets! {
    /// A command with a JSON body (`POST /v1/goodwill-actions`, `/v1/proposals`, …): it may be
    /// malformed, unauthenticated, forbidden, in flight under its key, too large, not JSON,
    /// against a rule, rate-limited, or meet an unavailable queue.
    CommandResponses = [400, 401, 403, 409, 413, 415, 422, 429, 500, 503];
    /// A command with a JSON body on an entity named in the path: [`CommandResponses`] and 404.
    EntityCommandResponses = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503];
    /// A command without a body on an entity named in the path (a proposal's step, a
    /// revocation): no 413 or 415.
    StepResponses = [400, 401, 403, 404, 409, 422, 429, 500, 503];
    /// The batch: like [`CommandResponses`], but a member's item for another user is refused
    /// in its result, not with 403.
    BatchResponses = [400, 401, 409, 413, 415, 422, 429, 500, 503];
    /// A public read of one entity by id.
    ReadResponses = [404, 500, 503];
    /// A public, paged list: its query may be malformed or out of range.
    ListResponses = [400, 422, 500, 503];
    /// An operator's list with a query.
    OperatorListResponses = [400, 401, 403, 422, 429, 500, 503];
    /// An operator's read without a query.
    OperatorReadResponses = [401, 403, 429, 500, 503];
    /// An operator's action on an entity named in the path, without a body, that the entity's
    /// state may refuse (a job that is running and cannot be stopped, or already finished).
    OperatorStepResponses = [401, 403, 404, 409, 429, 500, 503];
    /// An operator's action on an entity named in the path, without a body.
    OperatorEntityResponses = [401, 403, 404, 429, 500, 503];
    /// An operator's action with a JSON body that is not an idempotent command.
    OperatorActionResponses = [400, 401, 403, 413, 415, 422, 429, 500, 503];
}
