//! The one path every command takes: ids (fresh, or derived from the `Idempotency-Key`), the
//! idempotency claim, the enqueue, and the `202 {job_id, <entity>_id, status_url}` answer.

use axum::{
    Json,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use coin_shared::{jobs::Job, queue::JobId};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    auth::Caller,
    idempotency::{self, Claim, IdempotencyKey},
    problem::ApiError,
    state::AppState,
};

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
    /// (keys are scoped to it), `body` the raw JSON body if any.
    pub fn new(
        caller: &Caller,
        headers: &HeaderMap,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Self, ApiError> {
        let key = IdempotencyKey::from_headers(headers, caller, path)?;
        let fingerprint = match &key {
            Some(_) => {
                let value: Option<Value> = body.and_then(|b| serde_json::from_slice(b).ok());
                idempotency::fingerprint(method, path, value.as_ref())
            }
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

    /// Enqueues `job` and answers 202 with `{job_id, <entity_field>, status_url}`; a replayed
    /// key answers the first response again.
    pub async fn submit<J: Job>(
        &self,
        state: &AppState,
        entity_field: &str,
        job: &J,
    ) -> Result<Response, ApiError> {
        let status_url = format!("/v1/jobs/{}", self.job_id);
        let body = json!({
            "job_id": self.job_id,
            entity_field: self.entity_id,
            "status_url": status_url,
        });
        let enqueue = async { state.queue.enqueue_as(self.job_id, job).await };
        self.answer(state, J::QUEUE, body, 1, enqueue).await
    }

    /// The shared tail of single and batch submissions: claim the key, run `enqueue`, answer.
    pub async fn answer(
        &self,
        state: &AppState,
        queue: &'static str,
        body: Value,
        jobs: u64,
        enqueue: impl Future<Output = Result<(), coin_shared::queue::QueueError>>,
    ) -> Result<Response, ApiError> {
        if let Some(key) = &self.key {
            let claim = state
                .idempotency
                .claim(key, &self.fingerprint, StatusCode::ACCEPTED.as_u16(), &body)
                .await?;
            if let Claim::Replay { status, body } = claim {
                return Ok(respond(status, body, true));
            }
        }
        if let Err(e) = enqueue.await {
            if let Some(key) = &self.key {
                state.idempotency.release(key).await;
            }
            return Err(e.into());
        }
        metrics::counter!("coin_jobs_enqueued_total", "queue" => queue).increment(jobs);
        Ok(respond(StatusCode::ACCEPTED.as_u16(), body, false))
    }
}

fn respond(status: u16, body: Value, replayed: bool) -> Response {
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
