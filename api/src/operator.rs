//! What every operator route over HTTP shares: its handler takes an [`Operator`], whose
//! extraction is the role check (403 naming the operation), so no operator handler can forget
//! it. An action is done, and only once it succeeded is what it changed recorded, as
//! `Operation::Audit` jobs a worker writes to `audit_log` exactly once (the API itself writes
//! nothing to Postgres). Each action handler calls [`Operator::act`] once; an action that
//! changed nothing (a queue already paused, a replay of an empty dead set) returns no [`Audit`]
//! and leaves no row.

use std::{future::Future, time::Duration};

use axum::{
    extract::{FromRequestParts, MatchedPath},
    http::request::Parts,
};
pub use coin_shared::operations::Audit;
use coin_shared::{
    operations::{Operation, user_actor},
    queue::{JobId, JobQueue},
};

use crate::{
    auth::{Caller, Role},
    problem::{ApiError, ApiResult},
    state::AppState,
};

/// Pushes of the audit entries tried before giving up (the same ids each time, so a push that
/// did land is not doubled).
const AUDIT_PUSH_ATTEMPTS: u32 = 3;

/// An operator's request: the state and the caller, whose role was checked when this was
/// extracted. Every operator route's handler takes one, first.
#[derive(Clone)]
pub struct Operator {
    /// What every handler can reach.
    pub state: AppState,
    /// The authenticated operator.
    pub caller: Caller,
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    /// 403 unless the caller is an operator, naming the operation (`POST /v1/queues/{queue}/pause`).
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let path = parts
            .extensions
            .get::<MatchedPath>()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
        caller.require(&[Role::Operator], &format!("`{} {path}`", parts.method))?;
        Ok(Self {
            state: state.clone(),
            caller,
        })
    }
}

impl Operator {
    /// The one way an operator action runs: `perform`, then, if it succeeded, one audit entry
    /// for each [`Audit`] it returned. An error of `perform` is answered as it is, and audits
    /// nothing.
    pub async fn act<T>(
        &self,
        perform: impl Future<Output = ApiResult<(T, Vec<Audit>)>>,
    ) -> ApiResult<T> {
        let (answer, audits) = perform.await?;
        record(&self.state.queue, &self.caller, audits).await;
        Ok(answer)
    }

    /// The operator as audit rows and pause records name it.
    pub fn actor(&self) -> String {
        user_actor(self.caller.user_id)
    }
}

/// Queues the audit entries of an action that is done. The action stands whatever happens
/// here, so a failure does not turn its answer into an error (a retry would find nothing left
/// to do, and audit nothing either); the entries are retried, then logged in full as an error.
async fn record(queue: &JobQueue, caller: &Caller, audits: Vec<Audit>) {
    if audits.is_empty() {
        return;
    }
    let entries: Vec<(JobId, Operation)> = audits
        .into_iter()
        .map(|a| (JobId::new(), Operation::Audit(a.by_user(caller.user_id))))
        .collect();
    let jobs: Vec<(JobId, &Operation)> = entries.iter().map(|(id, op)| (*id, op)).collect();
    let mut attempt = 1;
    loop {
        match queue.enqueue_batch_as(&jobs).await {
            Ok(()) => return,
            Err(e) if attempt < AUDIT_PUSH_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "could not queue audit entries; retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    entries = ?entries,
                    "an operator action was done, but its audit entries could not be queued"
                );
                return;
            }
        }
    }
}
