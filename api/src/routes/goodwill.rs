//! `POST /v1/goodwill-actions`: validate, authorize, enqueue a `RecordGoodwill` job, answer 202.

use chrono::{DateTime, Utc};
use coin_shared::{domain::FieldError, jobs::RecordGoodwill};
use serde::Deserialize;
use serde_json::{Map, Value, json, value::RawValue};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    accepted::Accepted,
    auth::{Caller, Role},
    bounded::Bounded,
    commands::{Acceptance, Command, Draft, Prepared, validated},
    openapi::{BatchAccepted, GoodwillAccepted, IdempotencyKeyHeader},
    problem::{ApiError, ApiResult},
    responses::{BatchResponses, CommandResponses},
};

/// The body of `POST /v1/goodwill-actions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoodwillRequest {
    /// Whose action it is: required for `service` tokens, optional (and must be the caller)
    /// otherwise.
    pub user_id: Option<Uuid>,
    /// What kind of good was done (1..=100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub action_type: String,
    /// Free text (1..=5000 characters).
    #[schema(min_length = 1, max_length = 5000)]
    pub description: String,
    /// Points it is worth (1..=100). Wide type so an out-of-range number is a rule error, not a
    /// parse error.
    #[schema(minimum = 1, maximum = 100)]
    pub loves_value: i64,
    /// Optional context object (at most 16 KiB serialized).
    #[schema(value_type = Option<Object>)]
    pub contextual_data: Option<Map<String, Value>>,
    /// When it happened; defaults to now; at most 300 s in the future.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Turns a request into a job, checking every rule the worker would (the shared
/// [`coin_shared::validate::Validate`]); no Postgres write here.
pub fn to_job(draft: Draft<GoodwillRequest>) -> ApiResult<RecordGoodwill> {
    let Draft {
        caller,
        body: request,
        id: action_id,
        at: now,
    } = draft;
    let user_id = match (caller.role, request.user_id) {
        (Role::Service, Some(user)) => user,
        (Role::Service, None) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "user_id",
                "is required when a service posts on behalf of a user",
            )]));
        }
        (_, Some(user)) if user != caller.user_id => {
            return Err(ApiError::Forbidden(
                "a member may only record its own goodwill actions".into(),
            ));
        }
        (_, _) => caller.user_id,
    };
    let job = RecordGoodwill {
        action_id,
        user_id,
        action_type: request.action_type.trim().to_owned(),
        description: request.description.trim().to_owned(),
        // Out of `i32` is out of range too: 0 breaks the same rule and is reported by it.
        loves_value: i32::try_from(request.loves_value).unwrap_or(0),
        occurred_at: request.occurred_at.unwrap_or(now),
        context: request.contextual_data.unwrap_or_default(),
        requested_by: caller.user_id,
        requested_at: now,
    };
    validated(job)
}

/// Validates and enqueues one goodwill action.
///
/// A `service` token posts on behalf of any user (`user_id` required); any other role only as
/// itself.
#[utoipa::path(post, path = "/v1/goodwill-actions", operation_id = "record_goodwill_action",
    tag = "goodwill", params(IdempotencyKeyHeader), request_body = GoodwillRequest,
    responses(Accepted<GoodwillAccepted>, CommandResponses))]
pub async fn record(command: Command<GoodwillRequest>) -> ApiResult<Accepted<GoodwillAccepted>> {
    command.submit_with(to_job).await
}

/// The body of `POST /v1/goodwill-actions:batch`. Its items are kept as their raw JSON text
/// and each is parsed straight into a [`GoodwillRequest`]: no tree of JSON values is built for
/// a body of a thousand actions, and no more than [`MAX_BATCH`] are kept while it is parsed
/// (the rest are only counted, for the 422).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Up to [`MAX_BATCH`] actions, each shaped like a single POST's body.
    #[schema(value_type = Vec<GoodwillRequest>, min_items = 1, max_items = 1000)]
    pub actions: Bounded<Box<RawValue>, MAX_BATCH>,
}

/// Most actions one batch may carry.
pub const MAX_BATCH: usize = 1_000;

/// Validates every action, enqueues the valid ones in one Redis round trip, and answers per
/// item: ids for the accepted, errors for the rejected (202 if any was accepted, else 422).
///
/// An item a `member` posts for another user is rejected (its `errors` say why) rather than
/// failing the whole batch with 403.
#[utoipa::path(post, path = "/v1/goodwill-actions:batch",
    operation_id = "record_goodwill_actions_batch", tag = "goodwill", params(IdempotencyKeyHeader),
    request_body = BatchRequest, responses(Accepted<BatchAccepted>, BatchResponses))]
pub async fn record_batch(command: Command<BatchRequest>) -> ApiResult<Accepted<BatchAccepted>> {
    let actions = &command.body.actions;
    if actions.len == 0 || actions.overflowed() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "actions",
            format!("must hold 1 to {MAX_BATCH} actions"),
        )]));
    }
    command
        .answer(|accepted| prepare_batch(command.caller, accepted, &actions.items))
        .await
}

/// A parse error of one item, without the line and column serde_json adds (they are within
/// the item, and the item is named by its index).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) if e.line() > 0 => message.to_owned(),
        _ => text,
    }
}

/// Validates every item of a batch as of `accepted.at`: the valid ones become jobs, every item
/// gets a result (its ids, or its errors); 422 when none is valid.
fn prepare_batch(
    caller: Caller,
    accepted: &Acceptance<'_>,
    actions: &[Box<RawValue>],
) -> ApiResult<Prepared<RecordGoodwill>> {
    let now = accepted.at;
    let mut jobs = Vec::with_capacity(actions.len());
    let mut results = Vec::with_capacity(actions.len());
    let mut all_errors = Vec::new();
    for (index, item) in actions.iter().enumerate() {
        let (action_id, job_id) = accepted.item_ids(index);
        let de = &mut serde_json::Deserializer::from_str(item.get());
        let parsed = serde_path_to_error::deserialize::<_, GoodwillRequest>(de)
            .map_err(|e| {
                let path = e.path().to_string();
                vec![FieldError::new(
                    format!("actions[{index}].{path}"),
                    without_position(&e.into_inner()),
                )]
            })
            .and_then(|body| {
                match to_job(Draft {
                    caller,
                    body,
                    id: action_id,
                    at: now,
                }) {
                    Ok(job) => Ok(job),
                    Err(ApiError::Validation(errors)) => Err(errors
                        .into_iter()
                        .map(|e| {
                            FieldError::new(format!("actions[{index}].{}", e.field), e.message)
                        })
                        .collect()),
                    Err(other) => Err(vec![FieldError::new(
                        format!("actions[{index}]"),
                        other.to_string(),
                    )]),
                }
            });
        match parsed {
            Ok(job) => {
                results.push(json!({
                    "index": index,
                    "job_id": job_id,
                    "action_id": action_id,
                    "status_url": format!("/v1/jobs/{job_id}"),
                }));
                jobs.push((job_id, job));
            }
            Err(errors) => {
                results.push(json!({ "index": index, "errors": errors }));
                all_errors.extend(errors);
            }
        }
    }
    if jobs.is_empty() {
        return Err(ApiError::Validation(all_errors));
    }
    let body = json!({
        "accepted": jobs.len(),
        "rejected": results.len() - jobs.len(),
        "results": results,
    });
    Ok(Prepared { jobs, body })
}

#[cfg(test)]
mod tests {
    use crate::routes::goodwill::{GoodwillRequest, without_position};

    #[test]
    fn an_items_parse_error_says_what_is_wrong_without_a_line_and_column() {
        let e = serde_json::from_str::<GoodwillRequest>("0").expect_err("not an object");
        assert!(e.to_string().contains(" at line "), "{e}");
        assert_eq!(
            without_position(&e),
            "invalid type: integer `0`, expected struct GoodwillRequest"
        );
    }
}
