//! The error answers of each kind of operation, as one `utoipa::IntoResponses` set each: a
//! handler's `#[utoipa::path]` names its success answer and one of these, instead of listing
//! ten problem responses again. Each entry refers to the component response of
//! `crate::openapi` (a problem+json `Problem`).

use std::collections::BTreeMap;

use utoipa::{
    IntoResponses,
    openapi::{self, Ref, RefOr},
};

macro_rules! response_sets {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal $component:ident),* $(,)?];)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
                // Each name is checked: it is a component response type's.
                $(let _ = crate::openapi::$component;)*
                BTreeMap::from([$((
                    $status.to_owned(),
                    RefOr::Ref(Ref::from_response_name(stringify!($component))),
                )),*])
            }
        }
    )*};
}

response_sets! {
    /// A command with a JSON body (`POST /v1/goodwill-actions`, `/v1/proposals`, …): it may be
    /// malformed, unauthenticated, forbidden, in flight under its key, too large, not JSON,
    /// against a rule, rate-limited, or meet an unavailable queue.
    CommandResponses = [
        "400" BadRequest, "401" Unauthorized, "403" Forbidden, "409" Conflict,
        "413" PayloadTooLarge, "415" UnsupportedMediaType, "422" UnprocessableEntity,
        "429" TooManyRequests, "500" InternalError, "503" ServiceUnavailable,
    ];
    /// A command with a JSON body on an entity named in the path: [`CommandResponses`] and 404.
    EntityCommandResponses = [
        "400" BadRequest, "401" Unauthorized, "403" Forbidden, "404" NotFound, "409" Conflict,
        "413" PayloadTooLarge, "415" UnsupportedMediaType, "422" UnprocessableEntity,
        "429" TooManyRequests, "500" InternalError, "503" ServiceUnavailable,
    ];
    /// A command without a body on an entity named in the path (a proposal's step, a
    /// revocation): no 413 or 415.
    StepResponses = [
        "400" BadRequest, "401" Unauthorized, "403" Forbidden, "404" NotFound, "409" Conflict,
        "422" UnprocessableEntity, "429" TooManyRequests, "500" InternalError,
        "503" ServiceUnavailable,
    ];
    /// The batch: like [`CommandResponses`], but a member's item for another user is refused
    /// in its result, not with 403.
    BatchResponses = [
        "400" BadRequest, "401" Unauthorized, "409" Conflict, "413" PayloadTooLarge,
        "415" UnsupportedMediaType, "422" UnprocessableEntity, "429" TooManyRequests,
        "500" InternalError, "503" ServiceUnavailable,
    ];
    /// A public read of one entity by id.
    ReadResponses = ["404" NotFound, "500" InternalError, "503" ServiceUnavailable];
    /// A public, paged list: its query may be malformed or out of range.
    ListResponses = [
        "400" BadRequest, "422" UnprocessableEntity, "500" InternalError,
        "503" ServiceUnavailable,
    ];
    /// An operator's list with a query.
    OperatorListResponses = [
        "400" BadRequest, "401" Unauthorized, "403" Forbidden, "422" UnprocessableEntity,
        "429" TooManyRequests, "500" InternalError, "503" ServiceUnavailable,
    ];
    /// An operator's read without a query.
    OperatorReadResponses = [
        "401" Unauthorized, "403" Forbidden, "429" TooManyRequests, "500" InternalError,
        "503" ServiceUnavailable,
    ];
    /// An operator's action on an entity named in the path, without a body, that the entity's
    /// state may refuse (a job that is running and cannot be stopped, or already finished).
    OperatorStepResponses = [
        "401" Unauthorized, "403" Forbidden, "404" NotFound, "409" Conflict,
        "429" TooManyRequests, "500" InternalError, "503" ServiceUnavailable,
    ];
    /// An operator's action on an entity named in the path, without a body.
    OperatorEntityResponses = [
        "401" Unauthorized, "403" Forbidden, "404" NotFound, "429" TooManyRequests,
        "500" InternalError, "503" ServiceUnavailable,
    ];
    /// An operator's action with a JSON body that is not an idempotent command.
    OperatorActionResponses = [
        "400" BadRequest, "401" Unauthorized, "403" Forbidden, "413" PayloadTooLarge,
        "415" UnsupportedMediaType, "422" UnprocessableEntity, "429" TooManyRequests,
        "500" InternalError, "503" ServiceUnavailable,
    ];
}
