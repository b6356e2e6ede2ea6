//! The one path every command takes, as one typed piece: the [`Command`] extractor reads the
//! caller, the `Idempotency-Key`, the path and the (raw and parsed) body once; its
//! [`Command::submit`] (one job) or [`Command::answer`] (any jobs, any body) derives the ids,
//! claims the key, enqueues, and answers a typed [`Accepted`].

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, RawPathParams, Request},
    http::{HeaderValue, Method, StatusCode},
};
use chrono::{DateTime, Utc};
use coin_shared::{
    jobs::Job,
    queue::{JobId, count_enqueued},
    validate::Validate,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    accepted::{Accepted, EntityHeader, SingleAccepted},
    auth::{Caller, Role},
    extract::{ApiJson, parse_id},
    idempotency::{self, Claim, IdempotencyKey, StoredAnswer},
    problem::{ApiError, ApiResult},
    state::AppState,
};

/// Passes `job` through the shared validator the worker applies too: a command the API accepts
/// is one the worker will write. Every command's job builder ends here.
pub fn validated<J: Validate>(job: J) -> ApiResult<J> {
    let errors = job.validate();
    if errors.is_empty() {
        Ok(job)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// What a command's body is read as: a JSON document (`T: DeserializeOwned`, read with
/// [`ApiJson`]), or [`NoBody`] (the body is not read at all).
pub trait CommandBody: Sized {
    /// Reads the body; the raw bytes are what the idempotency fingerprint covers.
    fn read(
        request: Request,
        state: &AppState,
    ) -> impl Future<Output = ApiResult<(Self, Option<Bytes>)>> + Send;
}

/// A command whose body is not read (a proposal's step, a revocation).
#[derive(Debug, Clone, Copy)]
pub struct NoBody;

impl CommandBody for NoBody {
    async fn read(_: Request, _: &AppState) -> ApiResult<(Self, Option<Bytes>)> {
        Ok((NoBody, None))
    }
}

impl<T: DeserializeOwned + Send> CommandBody for T {
    async fn read(request: Request, state: &AppState) -> ApiResult<(Self, Option<Bytes>)> {
        let ApiJson(body, raw) = ApiJson::from_request(request, state).await?;
        Ok((body, Some(raw)))
    }
}

/// A command request: who sent it, its parsed body, and what the idempotency path needs (the
/// key's header, the method, the path, the raw body), read once.
pub struct Command<B = NoBody> {
    /// The authenticated caller.
    pub caller: Caller,
    /// The parsed body.
    pub body: B,
    state: AppState,
    raw: Option<Bytes>,
    method: Method,
    path: String,
    key: Option<HeaderValue>,
    id: Option<String>,
}

impl<B: CommandBody + Send> FromRequest<AppState> for Command<B> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> ApiResult<Self> {
        let (mut parts, body) = request.into_parts();
        let caller = Caller::from_request_parts(&mut parts, state).await?;
        let id = RawPathParams::from_request_parts(&mut parts, state)
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == "id")
                    .map(|(_, value)| value.to_owned())
            });
        let method = parts.method.clone();
        let path = parts.uri.path().to_owned();
        let key = parts.headers.get(idempotency::HEADER).cloned();
        let (body, raw) = B::read(Request::from_parts(parts, body), state).await?;
        Ok(Self {
            caller,
            body,
            state: state.clone(),
            raw,
            method,
            path,
            key,
            id,
        })
    }
}

/// The ids a command's jobs are built under, and the instant they are judged at.
pub struct Acceptance<'a> {
    /// When the command was (first) accepted: rules that depend on "now" are judged there.
    pub at: DateTime<Utc>,
    /// The entity id the command creates or names (its own id for a command on an entity).
    pub entity_id: Uuid,
    /// The job id of a single-job command.
    pub job_id: JobId,
    /// The first request's answer, on a retry (whose generated values, such as a webhook
    /// secret, the rebuilt job must carry).
    pub first_answer: Option<&'a Value>,
    key: Option<&'a IdempotencyKey>,
}

impl Acceptance<'_> {
    /// The ids of item `index` of a batch.
    pub fn item_ids(&self, index: usize) -> (Uuid, JobId) {
        match self.key {
            Some(key) => (
                key.derive_id(&format!("entity:{index}")),
                JobId(key.derive_id(&format!("job:{index}"))),
            ),
            None => (Uuid::now_v7(), JobId::new()),
        }
    }
}

/// What a command's job is built from, with no I/O and no role check: who asks, the body, the
/// id its answer names (the entity it creates, or its own command id for a command on an
/// entity the path names) and the instant it was (first) accepted at, where rules that depend
/// on "now" are judged. Every job builder of a route takes one.
#[derive(Debug, Clone)]
pub struct Draft<B = NoBody> {
    /// The authenticated caller.
    pub caller: Caller,
    /// The parsed body (or a step's value).
    pub body: B,
    /// The id the answer names.
    pub id: Uuid,
    /// When the command was (first) accepted.
    pub at: DateTime<Utc>,
}

impl<B> Draft<B> {
    /// The same draft carrying `body` instead: a step's value, or one item of a batch.
    pub fn carrying<C>(self, body: C) -> Draft<C> {
        Draft {
            caller: self.caller,
            body,
            id: self.id,
            at: self.at,
        }
    }
}

/// The jobs a command pushes and the `202` body that answers it, built as of one instant.
pub struct Prepared<J> {
    /// The jobs, under the ids the answer names.
    pub jobs: Vec<(JobId, J)>,
    /// The `202` body.
    pub body: Value,
}

impl<B> Command<B> {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], action: &str) -> ApiResult<()> {
        self.caller.require(roles, action)
    }

    /// The process's services (for a handler's own settings).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The `{id}` path segment as a UUID; 404 naming `what` when it is not one.
    pub fn id(&self, what: &str) -> ApiResult<Uuid> {
        parse_id(self.id.as_deref().unwrap_or_default(), what)
    }

    /// Enqueues the one job `build` makes and answers `202 T::of(job_id, entity_id)`; a
    /// replayed key answers the first response again.
    pub async fn submit<J: Job, T: SingleAccepted, H: EntityHeader>(
        &self,
        build: impl Fn(&Acceptance<'_>) -> ApiResult<J>,
    ) -> ApiResult<Accepted<T, H>> {
        self.answer(|acceptance| {
            let body = serde_json::to_value(T::of(acceptance.job_id.0, acceptance.entity_id))
                .map_err(|e| ApiError::Internal(e.into()))?;
            Ok(Prepared {
                jobs: vec![(acceptance.job_id, build(acceptance)?)],
                body,
            })
        })
        .await
    }

    /// Enqueues the jobs `build` makes with the answer it makes, as of an [`Acceptance`]: now
    /// for a first request, the first request's for a retry.
    ///
    /// With a key, in two phases: claim it with a pending record of the answer, push, mark it
    /// answered (in the background). A retry that finds the claim (pending or answered) pushes
    /// the same jobs again under the same ids before it answers — the queue ignores ids it
    /// knows — so a stored or replayed 202 always has its jobs, even when the first request
    /// died between its claim and its push, or Redis lost the job but kept the claim.
    pub async fn answer<J: Job, T, H: EntityHeader>(
        &self,
        build: impl Fn(&Acceptance<'_>) -> ApiResult<Prepared<J>>,
    ) -> ApiResult<Accepted<T, H>> {
        let state = &self.state;
        let key = match &self.key {
            Some(raw) => Some(IdempotencyKey::from_header(raw, &self.caller, &self.path)?),
            None => None,
        };
        let (entity_id, job_id) = match &key {
            Some(key) => (key.derive_id("entity"), JobId(key.derive_id("job"))),
            None => (Uuid::now_v7(), JobId::new()),
        };
        let acceptance = |at, first_answer| Acceptance {
            at,
            entity_id,
            job_id,
            first_answer,
            key: key.as_ref(),
        };
        let now = Utc::now();
        // Every rule is checked before the key is claimed: a 422 stores nothing.
        let prepared = build(&acceptance(now, None))?;
        let accepted = StoredAnswer {
            status: StatusCode::ACCEPTED.as_u16(),
            body: prepared.body,
        };
        let Some(key) = &key else {
            push(state, &prepared.jobs).await?;
            count_enqueued::<J>(prepared.jobs.len());
            return Ok(respond(accepted, false));
        };
        let fingerprint =
            idempotency::fingerprint(self.method.as_str(), &self.path, self.raw.as_deref());
        match state
            .idempotency
            .claim(key, &fingerprint, now, &accepted)
            .await?
        {
            Claim::Fresh => {
                if let Err(e) = push(state, &prepared.jobs).await {
                    // The push may still have reached Redis: the retry's push is a no-op then.
                    state.idempotency.release(key).await;
                    return Err(e);
                }
                count_enqueued::<J>(prepared.jobs.len());
                state
                    .idempotency
                    .complete(key, &fingerprint, now, &accepted);
                Ok(respond(accepted, false))
            }
            Claim::Seen {
                accepted_at,
                pending,
                answer,
            } => {
                let first = build(&acceptance(accepted_at, Some(&answer.body)))?;
                push(state, &first.jobs).await?;
                if pending {
                    state
                        .idempotency
                        .complete(key, &fingerprint, accepted_at, &answer);
                }
                Ok(respond(answer, true))
            }
        }
    }
}

impl Command<NoBody> {
    /// A step on the entity the path names (a proposal's transition, a revocation): 403 unless
    /// the caller has one of `roles` (`action` says what was refused), 404 naming `entity` when
    /// the `{id}` is not a UUID, then the one job `build(entity id, draft)` enqueued (the
    /// draft's id is the command's own), answered with the entity in its header `H`.
    pub async fn step<J, T, H>(
        &self,
        roles: &[Role],
        action: &str,
        entity: &str,
        build: impl Fn(Uuid, Draft) -> ApiResult<J>,
    ) -> ApiResult<Accepted<T, H>>
    where
        J: Job,
        T: SingleAccepted,
        H: EntityHeader,
    {
        self.require(roles, action)?;
        let entity_id = self.id(entity)?;
        let answer: Accepted<T, H> = self
            .submit(|accepted| build(entity_id, self.draft(accepted)))
            .await?;
        Ok(answer.naming(entity_id))
    }
}

impl<B: Clone> Command<B> {
    /// [`Command::submit`] with the usual job builder: from the [`Draft`] of the acceptance.
    pub async fn submit_with<J: Job, T: SingleAccepted, H: EntityHeader>(
        &self,
        build: impl Fn(Draft<B>) -> ApiResult<J>,
    ) -> ApiResult<Accepted<T, H>> {
        self.submit(|accepted| build(self.draft(accepted))).await
    }

    /// The draft of this command as of `accepted`.
    pub fn draft(&self, accepted: &Acceptance<'_>) -> Draft<B> {
        Draft {
            caller: self.caller,
            body: self.body.clone(),
            id: accepted.entity_id,
            at: accepted.at,
        }
    }
}

/// Pushes a command's jobs: one through the coalesced single push, more in batched script
/// calls. Ids the queue already knows add nothing.
async fn push<J: Job>(state: &AppState, jobs: &[(JobId, J)]) -> ApiResult<()> {
    match jobs {
        [] => Ok(()),
        [(id, job)] => Ok(state.queue.enqueue_as(*id, job).await?),
        many => {
            let refs: Vec<(JobId, &J)> = many.iter().map(|(id, job)| (*id, job)).collect();
            Ok(state.queue.enqueue_batch_as(&refs).await?)
        }
    }
}

fn respond<T, H: EntityHeader>(
    StoredAnswer { status, body }: StoredAnswer,
    replayed: bool,
) -> Accepted<T, H> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::ACCEPTED);
    Accepted::new(status, body, replayed)
}
