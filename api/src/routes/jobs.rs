//! Jobs: `GET /v1/jobs/{id}` (where one stands, public), and for operators the search
//! (`GET /v1/jobs`), the cancel of one job, and bulk actions by filter (`POST /v1/jobs/bulk`),
//! which run as an `operations` job whose progress `GET /v1/jobs/{id}` shows.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use coin_shared::{
    domain::FieldError,
    jobs::{ALL_QUEUES, queue_named},
    operations::{
        BulkAction, BulkKind, CancelOutcome, JobFilter, MAX_SEARCH_LIMIT, Operation, SearchPage,
        SearchState, audit_action, describe_cancel,
    },
    queue::{JobId, JobStatus, QueueError},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    extract::{ApiJson, Job, PathId},
    operator::{Audit, Operator},
    paging::ApiQuery,
    problem::{ApiError, ApiResult},
    responses::{
        OperatorActionResponses, OperatorListResponses, OperatorStepResponses, ReadResponses,
    },
    state::AppState,
};

/// Page size of a search when the query names none.
pub const DEFAULT_SEARCH_LIMIT: usize = 50;

/// The job's state, attempts and last result; 404 for an unknown id.
#[utoipa::path(get, path = "/v1/jobs/{id}", operation_id = "get_job", tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "The job (`job_id` of a 202 answer).")),
    responses((status = 200, description = "Where the job stands.", body = JobStatus),
        ReadResponses))]
pub async fn status(
    State(state): State<AppState>,
    PathId(id, _): PathId<Job>,
) -> ApiResult<Json<JobStatus>> {
    let id = JobId(id);
    let status = state
        .queue
        .status(ALL_QUEUES, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job has the id `{id}`")))?;
    Ok(Json(status))
}

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelState {
    /// It was waiting, scheduled, retrying or dead: it will never run (`200`).
    Cancelled,
    /// It had been cancelled before; nothing changed (`200`).
    AlreadyCancelled,
    /// It is running and its handler stops at its next safe point (`202`).
    Requested,
}

/// The answer of `POST /v1/jobs/{id}/cancel`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct JobCancelled {
    /// The job.
    pub job_id: String,
    /// Its queue.
    pub queue: String,
    /// What the cancel did.
    pub outcome: CancelState,
    /// The same, in words.
    pub detail: String,
    /// Deliveries so far, when it is running.
    pub attempts: Option<u32>,
    /// When its running delivery started, when it is running.
    pub started_at: Option<DateTime<Utc>>,
    /// Where its state can be polled.
    pub status_url: String,
}

/// How a cancel's outcome is answered: the status and body, and whether it changed anything
/// (and so is audited); an error for a job it could not cancel.
fn cancel_answer(
    job_id: &str,
    queue: &str,
    outcome: CancelOutcome,
) -> ApiResult<(StatusCode, JobCancelled, bool)> {
    let (_, detail) = describe_cancel(outcome);
    let (status, state, changed, attempts, started_at_ms) = match outcome {
        CancelOutcome::Cancelled => (StatusCode::OK, CancelState::Cancelled, true, None, None),
        CancelOutcome::AlreadyCancelled => (
            StatusCode::OK,
            CancelState::AlreadyCancelled,
            false,
            None,
            None,
        ),
        CancelOutcome::Requested {
            attempts,
            started_at_ms,
        } => (
            StatusCode::ACCEPTED,
            CancelState::Requested,
            true,
            Some(attempts),
            Some(started_at_ms),
        ),
        CancelOutcome::Running { .. } | CancelOutcome::Done => {
            return Err(ApiError::Conflict(format!(
                "job `{job_id}` ({queue}) was not cancelled: {detail}"
            )));
        }
        CancelOutcome::Unknown => {
            return Err(ApiError::NotFound(format!("no job has the id `{job_id}`")));
        }
    };
    let body = JobCancelled {
        job_id: job_id.to_owned(),
        queue: queue.to_owned(),
        outcome: state,
        detail,
        attempts,
        started_at: started_at_ms.and_then(DateTime::from_timestamp_millis),
        status_url: format!("/v1/jobs/{job_id}"),
    };
    Ok((status, body, changed))
}

/// `POST /v1/jobs/{id}/cancel` (operator): a waiting, scheduled, retrying or dead job is
/// cancelled and never runs (`200`); a running distribution chunk is asked to stop at its next
/// safe point (`202`); any other running job, or a finished one, is refused with `409` saying
/// what it is doing.
#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", operation_id = "cancel_job", tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "The job.")),
    responses(
        (status = 200, description = "Cancelled (or cancelled before): it will not run.",
            body = JobCancelled),
        (status = 202, description = "Running: asked to stop at its next safe point.",
            body = JobCancelled),
        OperatorStepResponses,
    ))]
pub async fn cancel(
    op: Operator,
    PathId(id, _): PathId<Job>,
) -> ApiResult<(StatusCode, Json<JobCancelled>)> {
    op.act(async {
        let job_id = id.to_string();
        let (queue, outcome) = op
            .state
            .queue
            .cancel(&job_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no job has the id `{job_id}`")))?;
        let (status, body, changed) = cancel_answer(&job_id, queue, outcome)?;
        tracing::info!(job.id = %job_id, queue, ?outcome, "job cancelled by an operator");
        let audits = if changed {
            let details = json!({"queue": queue, "outcome": outcome});
            vec![Audit::job(audit_action::JOB_CANCELLED, &job_id, details)]
        } else {
            vec![]
        };
        Ok(((status, Json(body)), audits))
    })
    .await
}

/// Query of `GET /v1/jobs`. Every value is read as text and checked here, so a bad one is a
/// `400` naming its parameter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Only this queue (goodwill, votes, governance, webhooks, distribution, operations).
    pub queue: Option<String>,
    /// The state to look through.
    #[param(required = true, value_type = SearchState)]
    pub state: Option<String>,
    /// The job's kind, e.g. `record_goodwill`, `cast_vote`, `create_proposal`.
    pub kind: Option<String>,
    /// A user the payload names (`user_id`, `requested_by`, `voter_id`, ...).
    #[param(value_type = Option<Uuid>)]
    pub user_id: Option<String>,
    /// A page's `next_cursor`.
    pub cursor: Option<String>,
    /// Matches per page (1..=200, default 50).
    #[param(value_type = Option<usize>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

fn bad(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        detail: format!("`{field}` {}", detail.into()),
        field: Some(field.to_owned()),
    }
}

const STATES: &str = "queued, scheduled, retrying, running, dead or cancelled";

impl SearchQuery {
    /// The filter, page size and cursor it asks for; 400 naming the first bad parameter.
    fn parse(self) -> ApiResult<(JobFilter, usize, Option<String>)> {
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        let queue = match given(self.queue) {
            None => None,
            Some(q) => Some(queue_named(&q).map(str::to_owned).ok_or_else(|| {
                bad(
                    "queue",
                    format!("must be one of {}, not `{q}`", ALL_QUEUES.join(", ")),
                )
            })?),
        };
        let state =
            given(self.state).ok_or_else(|| bad("state", format!("is required: {STATES}")))?;
        let state: SearchState = serde_json::from_value(json!(state))
            .map_err(|_| bad("state", format!("must be {STATES}, not `{state}`")))?;
        let user_id = given(self.user_id)
            .map(|u| {
                u.parse::<Uuid>()
                    .map_err(|_| bad("user_id", format!("must be a UUID, not `{u}`")))
            })
            .transpose()?;
        let limit = match given(self.limit) {
            None => DEFAULT_SEARCH_LIMIT,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_SEARCH_LIMIT).contains(n))
                .ok_or_else(|| {
                    bad(
                        "limit",
                        format!("must be a number from 1 to {MAX_SEARCH_LIMIT}, not `{l}`"),
                    )
                })?,
        };
        let filter = JobFilter {
            queue,
            state,
            kind: given(self.kind),
            user_id,
        };
        Ok((filter, limit, given(self.cursor)))
    }
}

/// `GET /v1/jobs` (operator): jobs in one state, of one queue or all, optionally of one kind
/// and naming one user, with payloads whose secrets are redacted. Each page looks at a bounded
/// number of ids, so a page may hold fewer than `limit` matches and still have a
/// `next_cursor`; follow it until it is `null`.
#[utoipa::path(get, path = "/v1/jobs", operation_id = "search_jobs", tag = "jobs",
    params(SearchQuery),
    responses((status = 200, description = "One page of matching jobs.", body = SearchPage),
        OperatorListResponses))]
pub async fn search(
    op: Operator,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchPage>> {
    let (filter, limit, cursor) = query.parse()?;
    let page = op
        .state
        .queue
        .search(&filter, cursor.as_deref(), limit)
        .await
        .map_err(|e| match e {
            // The queue was checked above: an unknown one can only come from the cursor.
            QueueError::UnknownQueue(_) => bad("cursor", "was not handed out by this search"),
            e if e.is_invalid_cursor() => bad("cursor", "was not handed out by a search"),
            other => other.into(),
        })?;
    Ok(Json(page))
}

/// The body of `POST /v1/jobs/bulk`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// What to do to every matching job: `replay` (dead jobs), `cancel` (dead or retrying),
    /// `delete` (dead, retrying or cancelled).
    pub action: BulkKind,
    /// Only this queue; every queue by default.
    pub queue: Option<String>,
    /// The state of the jobs to act on.
    pub state: SearchState,
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only jobs naming this user.
    pub user_id: Option<Uuid>,
    /// `true`: only count the matching jobs, change nothing.
    pub dry_run: bool,
}

/// `200` of a dry run.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkDryRun {
    /// How many jobs match now.
    pub matched: u64,
}

/// `202` of a bulk action.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkActionAccepted {
    /// The `operations` job that runs it: its `progress` (`scanned`, `matched`, `applied`,
    /// `finished`) shows at `status_url`, and its state is `done` at the end.
    pub job_id: JobId,
    /// `GET /v1/jobs/{job_id}`; also sent as `Location`.
    pub status_url: String,
}

impl BulkRequest {
    /// The filter, or 422 listing what breaks the rules.
    fn filter(&self) -> ApiResult<JobFilter> {
        let mut errors = Vec::new();
        if let Err(refused) = self.action.check(self.state) {
            errors.push(FieldError::new("state", refused));
        }
        if let Some(q) = self.queue.as_deref().filter(|q| queue_named(q).is_none()) {
            errors.push(FieldError::new(
                "queue",
                format!("must be one of {}, not `{q}`", ALL_QUEUES.join(", ")),
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(JobFilter {
            queue: self.queue.clone(),
            state: self.state,
            kind: self.kind.clone(),
            user_id: self.user_id,
        })
    }
}

/// `POST /v1/jobs/bulk` (operator): `replay`, `cancel` or `delete` every job matching a filter.
/// A dry run (`dry_run: true`) answers `200 {matched}` and changes nothing; otherwise the
/// action is queued as an `operations` job (`202`, `Location` its status), which a worker runs
/// window by window, reporting its progress, and audits once it finished.
#[utoipa::path(post, path = "/v1/jobs/bulk", operation_id = "bulk_jobs", tag = "jobs",
    request_body = BulkRequest,
    responses(
        (status = 200, description = "Dry run: how many jobs match.", body = BulkDryRun),
        (status = 202, description = "Queued; follow `status_url` for its progress.",
            body = BulkActionAccepted,
            headers(("Location" = String, description = "The `status_url`."))),
        OperatorActionResponses,
    ))]
pub async fn bulk(op: Operator, ApiJson(body, _): ApiJson<BulkRequest>) -> ApiResult<Response> {
    let state = &op.state;
    let filter = body.filter()?;
    if body.dry_run {
        let matched = state.queue.count_matching(&filter).await?;
        return Ok(Json(BulkDryRun { matched }).into_response());
    }
    let job_id = JobId::new();
    let job = Operation::Bulk(BulkAction {
        action: body.action,
        filter,
        actor_user_id: Some(op.caller.user_id),
        actor: op.actor(),
    });
    // Audited by the worker once it finished, with what it matched and changed.
    state.queue.enqueue_as(job_id, &job).await?;
    tracing::info!(job.id = %job_id, action = ?body.action, "bulk action queued by an operator");
    let status_url = format!("/v1/jobs/{job_id}");
    let mut response = (
        StatusCode::ACCEPTED,
        Json(BulkActionAccepted {
            job_id,
            status_url: status_url.clone(),
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&status_url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    // Not `super::*`: tests/tests/module_graph.rs reads that as an import of `routes`.
    use crate::routes::jobs::*;

    #[test]
    fn each_cancel_outcome_has_its_answer() {
        let id = Uuid::now_v7().to_string();
        let (status, body, changed) =
            cancel_answer(&id, "goodwill", CancelOutcome::Cancelled).expect("an answer");
        assert_eq!(
            (status, body.outcome, changed),
            (StatusCode::OK, CancelState::Cancelled, true)
        );
        let (status, body, changed) =
            cancel_answer(&id, "goodwill", CancelOutcome::AlreadyCancelled).expect("an answer");
        assert_eq!(
            (status, body.outcome, changed),
            (StatusCode::OK, CancelState::AlreadyCancelled, false)
        );
        let started = 1_767_225_600_000;
        let (status, body, changed) = cancel_answer(
            &id,
            "distribution",
            CancelOutcome::Requested {
                attempts: 2,
                started_at_ms: started,
            },
        )
        .expect("an answer");
        assert_eq!(
            (status, body.outcome, changed, body.attempts),
            (StatusCode::ACCEPTED, CancelState::Requested, true, Some(2))
        );
        assert_eq!(body.started_at.map(|t| t.timestamp_millis()), Some(started));

        let running = CancelOutcome::Running {
            attempts: 3,
            started_at_ms: started,
        };
        let Err(ApiError::Conflict(detail)) = cancel_answer(&id, "votes", running) else {
            panic!("a running job that cannot stop is a conflict");
        };
        assert!(
            detail.contains("attempt 3") && detail.contains("2026-01-01T00:00:00"),
            "says what it is doing: {detail}"
        );
        assert!(matches!(
            cancel_answer(&id, "votes", CancelOutcome::Done),
            Err(ApiError::Conflict(d)) if d.contains("already finished")
        ));
        assert!(matches!(
            cancel_answer(&id, "votes", CancelOutcome::Unknown),
            Err(ApiError::NotFound(_))
        ));
    }

    fn query(pairs: &[(&str, &str)]) -> ApiResult<(JobFilter, usize, Option<String>)> {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let query: SearchQuery = serde_json::from_value(map.into()).expect("a query");
        query.parse()
    }

    fn refused_field(result: ApiResult<(JobFilter, usize, Option<String>)>) -> String {
        match result {
            Err(ApiError::BadRequest {
                field: Some(field), ..
            }) => field,
            other => panic!("expected a 400 naming a field, got {other:?}"),
        }
    }

    #[test]
    fn a_search_query_is_parsed_or_refused_naming_its_parameter() {
        let user = Uuid::now_v7();
        let user_text = user.to_string();
        let (filter, limit, cursor) = query(&[
            ("state", "dead"),
            ("queue", "votes"),
            ("kind", "cast_vote"),
            ("user_id", &user_text),
            ("limit", "200"),
            ("cursor", "votes|z:1:x"),
        ])
        .expect("valid");
        assert_eq!(
            filter,
            JobFilter {
                queue: Some("votes".into()),
                state: SearchState::Dead,
                kind: Some("cast_vote".into()),
                user_id: Some(user),
            }
        );
        assert_eq!((limit, cursor.as_deref()), (200, Some("votes|z:1:x")));
        let (_, limit, cursor) = query(&[("state", "queued")]).expect("valid");
        assert_eq!((limit, cursor), (DEFAULT_SEARCH_LIMIT, None));

        for (pairs, field) in [
            (vec![], "state"),
            (vec![("state", "sleeping")], "state"),
            (vec![("state", "dead"), ("queue", "nope")], "queue"),
            (vec![("state", "dead"), ("user_id", "bob")], "user_id"),
            (vec![("state", "dead"), ("limit", "0")], "limit"),
            (vec![("state", "dead"), ("limit", "201")], "limit"),
            (vec![("state", "dead"), ("limit", "many")], "limit"),
        ] {
            assert_eq!(refused_field(query(&pairs)), field, "{pairs:?}");
        }
    }

    #[test]
    fn a_bulk_action_is_refused_for_a_state_it_does_not_apply_to() {
        let body = |action, state, queue: Option<&str>| BulkRequest {
            action,
            queue: queue.map(str::to_owned),
            state,
            kind: None,
            user_id: None,
            dry_run: true,
        };
        assert!(
            body(BulkKind::Replay, SearchState::Dead, Some("votes"))
                .filter()
                .is_ok()
        );
        let Err(ApiError::Validation(errors)) =
            body(BulkKind::Replay, SearchState::Queued, Some("nope")).filter()
        else {
            panic!("refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["state", "queue"]);
        assert_eq!(
            errors[0].message,
            "replay applies to dead jobs, not queued ones"
        );
    }
}
