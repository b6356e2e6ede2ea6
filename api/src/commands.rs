//! The one path every command takes: ids (fresh, or derived from the `Idempotency-Key`), the
//! idempotency claim, the enqueue, and the `202 {job_id, <entity>_id, status_url}` answer.

use axum::{
    Json,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use coin_shared::{jobs::Job, queue::JobId};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    auth::Caller,
    idempotency::{self, Claim, IdempotencyKey, StoredAnswer},
    problem::ApiError,
    state::AppState,
};

/// The jobs a command pushes and the `202` body that answers it, built as of one instant.
pub struct Prepared<J> {
    /// The jobs, under the ids the answer names.
    pub jobs: Vec<(JobId, J)>,
    /// The `202` body.
    pub body: Value,
}

/// A command request's identity: who, which key, which ids.
pub struct CommandRequest {
    key: Option<IdempotencyKey>,
    fingerprint: String,
    /// The entity id the command creates or names.
    pub entity_id: Uuid,
    /// The job id it will be enqueued under.
    pub job_id: JobId,
}

impl CommandRequest {
    /// Reads the `Idempotency-Key` and mints (or derives) the ids. `path` is the request path
    /// (keys are scoped to it), `body` the raw body if any.
    pub fn new(
        caller: &Caller,
        headers: &HeaderMap,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Self, ApiError> {
        let key = IdempotencyKey::from_headers(headers, caller, path)?;
        let fingerprint = match &key {
            Some(_) => idempotency::fingerprint(method, path, body),
            None => String::new(),
        };
        let (entity_id, job_id) = match &key {
            Some(key) => (key.derive_id("entity"), JobId(key.derive_id("job"))),
            None => (Uuid::now_v7(), JobId::new()),
        };
        Ok(Self {
            key,
            fingerprint,
            entity_id,
            job_id,
        })
    }

    /// The ids of item `index` of a batch.
    pub fn item_ids(&self, index: usize) -> (Uuid, JobId) {
        match &self.key {
            Some(key) => (
                key.derive_id(&format!("entity:{index}")),
                JobId(key.derive_id(&format!("job:{index}"))),
            ),
            None => (Uuid::now_v7(), JobId::new()),
        }
    }

    /// Enqueues the job `build` makes and answers 202 with `{job_id, <entity_field>,
    /// status_url}`; a replayed key answers the first response again.
    pub async fn submit<J: Job>(
        &self,
        state: &AppState,
        entity_field: &str,
        build: impl Fn(&Acceptance<'_>) -> Result<J, ApiError>,
    ) -> Result<Response, ApiError> {
        let body = json!({
            "job_id": self.job_id,
            entity_field: self.entity_id,
            "status_url": format!("/v1/jobs/{}", self.job_id),
        });
        self.answer(state, |acceptance| {
            Ok(Prepared {
                jobs: vec![(self.job_id, build(acceptance)?)],
                body: body.clone(),
            })
        })
        .await
    }

    /// The shared tail of single and batch submissions. `build` makes the jobs and the answer
    /// as of an [`Acceptance`]: now for a first request, the first request's for a retry.
    ///
    /// With a key, in two phases: claim it with a pending record of the answer, push, mark it
    /// answered. A retry that finds the claim (pending or answered) pushes the same jobs again
    /// under the same ids before it answers — the queue ignores ids it knows — so a stored or
    /// replayed 202 always has its jobs, even when the first request died between its claim
    /// and its push, or Redis lost the job but kept the claim.
    pub async fn answer<J: Job>(
        &self,
        state: &AppState,
        build: impl Fn(&Acceptance<'_>) -> Result<Prepared<J>, ApiError>,
    ) -> Result<Response, ApiError> {
        let now = Utc::now();
        // Every rule is checked before the key is claimed: a 422 stores nothing.
        let prepared = build(&Acceptance {
            at: now,
            first_answer: None,
        })?;
        let accepted = StoredAnswer {
            status: StatusCode::ACCEPTED.as_u16(),
            body: prepared.body,
        };
        let Some(key) = &self.key else {
            push(state, &prepared.jobs).await?;
            count_enqueued::<J>(prepared.jobs.len());
            return Ok(respond(accepted, false));
        };
        let claim = state
            .idempotency
            .claim(key, &self.fingerprint, now, &accepted)
            .await?;
        match claim {
            Claim::Fresh => {
                if let Err(e) = push(state, &prepared.jobs).await {
                    // The push may still have reached Redis: the retry's push is a no-op then.
                    state.idempotency.release(key).await;
                    return Err(e);
                }
                count_enqueued::<J>(prepared.jobs.len());
                state
                    .idempotency
                    .complete(key, &self.fingerprint, now, &accepted);
                Ok(respond(accepted, false))
            }
            Claim::Seen {
                accepted_at,
                pending,
                answer,
            } => {
                let first = build(&Acceptance {
                    at: accepted_at,
                    first_answer: Some(&answer.body),
                })?;
                push(state, &first.jobs).await?;
                if pending {
                    state
                        .idempotency
                        .complete(key, &self.fingerprint, accepted_at, &answer);
                }
                Ok(respond(answer, true))
            }
        }
    }
}

/// What a command's jobs are built from besides the request: the instant it was accepted (rules
/// that depend on "now" are judged there), and on a retry the first answer (whose generated
/// values, such as a webhook secret, the rebuilt job must carry).
pub struct Acceptance<'a> {
    /// When the command was (first) accepted.
    pub at: DateTime<Utc>,
    /// The first request's answer, on a retry.
    pub first_answer: Option<&'a Value>,
}

/// Pushes a command's jobs: one through the coalesced single push, more in batched script
/// calls. Ids the queue already knows add nothing.
async fn push<J: Job>(state: &AppState, jobs: &[(JobId, J)]) -> Result<(), ApiError> {
    match jobs {
        [] => Ok(()),
        [(id, job)] => Ok(state.queue.enqueue_as(*id, job).await?),
        many => {
            let refs: Vec<(JobId, &J)> = many.iter().map(|(id, job)| (*id, job)).collect();
            Ok(state.queue.enqueue_batch_as(&refs).await?)
        }
    }
}

fn count_enqueued<J: Job>(jobs: usize) {
    metrics::counter!(coin_shared::metric_names::JOBS_ENQUEUED_TOTAL, "queue" => J::QUEUE)
        .increment(jobs as u64);
}

fn respond(StoredAnswer { status, body }: StoredAnswer, replayed: bool) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::ACCEPTED);
    let location = body["status_url"].as_str().map(str::to_owned);
    let mut response = (status, Json(body)).into_response();
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}
