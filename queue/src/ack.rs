//! Reporting a handler's outcome back to the backend.
//!
//! Mirrors apalis-redis' `TaskPersistLayer`: the backend's [`BackendConfig::middleware`]
//! returns an [`AckLayer`] which apalis puts *outside* the user's layers, so it sees the
//! final result of every task (after timeouts, catch-panic, ...). The layer classifies
//! the result and sends an [`AckEvent`] over a channel; the backend batches those events
//! into one Lua call per `ack_chunk` jobs from its `poll_ready`/`poll_next`/`poll_close`.
//!
//! [`BackendConfig::middleware`]: apalis_core::backend::BackendConfig::middleware

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use apalis_core::{
    error::{AbortError, BoxDynError, RetryAfterError},
    task::{ExecutionContext, Task},
};
use futures::{channel::mpsc::UnboundedSender, future::BoxFuture};
use serde::Serialize;
use tower_layer::Layer;
use tower_service::Service;

use crate::config::{DoneRetention, QueueConfig, now_ms};

/// A handler error that must not be retried: the job goes to the dead set at once.
///
/// apalis' own [`AbortError`] has the same effect.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PermanentError(pub BoxDynError);

impl PermanentError {
    /// Wraps any error as permanent.
    pub fn new(e: impl Into<BoxDynError>) -> Self {
        Self(e.into())
    }
}

/// What a handler returns when it saw, at a safe point, that an operator cancelled its job
/// ([`RedisQueue::cancel_requested`](crate::RedisQueue::cancel_requested)): the job is recorded
/// `cancelled`, not retried.
#[derive(Debug, thiserror::Error)]
#[error("cancelled by an operator: {0}")]
pub struct Cancelled(pub String);

/// The raw job id as stored in Redis, attached to every fetched task's data.
///
/// Acks use it rather than `TaskId`'s `Display` (which may normalise, e.g. UUID case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobKey(pub Arc<str>);

/// What happened to one job.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Succeeded; JSON of the response.
    Done(String),
    /// Transient failure; run again at this time (ms).
    Retry { at_ms: i64, error: String },
    /// Permanent failure or attempts exhausted.
    Dead(String),
    /// The handler stopped at a safe point because an operator cancelled the job.
    Cancelled(String),
}

/// One finished job, sent from the service to the backend.
#[derive(Debug, Clone)]
pub(crate) struct AckEvent {
    pub(crate) id: Arc<str>,
    pub(crate) outcome: Outcome,
}

impl AckEvent {
    /// (kind, retry_at, text) as passed to `ack.lua`.
    pub(crate) fn script_args(&self) -> (&'static str, i64, &str) {
        match &self.outcome {
            Outcome::Done(r) => ("ok", 0, r),
            Outcome::Retry { at_ms, error } => ("retry", *at_ms, error),
            Outcome::Dead(e) => ("dead", 0, e),
            Outcome::Cancelled(e) => ("cancel", 0, e),
        }
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Decides done / retry (exponential backoff with jitter) / dead.
pub(crate) fn classify<R: Serialize>(
    res: &Result<R, BoxDynError>,
    ctx: &ExecutionContext,
    cfg: &QueueConfig,
) -> Outcome {
    match res {
        // Nothing to store: skip serialising the response.
        Ok(_) if cfg.done_retention == DoneRetention::Drop => Outcome::Done(String::new()),
        Ok(r) => Outcome::Done(truncate(
            serde_json::to_string(r).unwrap_or_else(|e| format!("<unserializable result: {e}>")),
            cfg.max_text,
        )),
        Err(e) => {
            let text = truncate(e.to_string(), cfg.max_text);
            if e.downcast_ref::<Cancelled>().is_some() {
                return Outcome::Cancelled(text);
            }
            let permanent = e.downcast_ref::<AbortError>().is_some()
                || e.downcast_ref::<PermanentError>().is_some();
            if permanent {
                return Outcome::Dead(text);
            }
            let attempt = ctx.attempt().max(1);
            let max = ctx.max_attempts().unwrap_or(cfg.max_attempts as usize);
            if attempt >= max {
                return Outcome::Dead(format!("{text} (gave up after {attempt} attempts)"));
            }
            let delay = e
                .downcast_ref::<RetryAfterError>()
                .map(RetryAfterError::get_duration)
                .unwrap_or_else(|| cfg.backoff_for(attempt));
            Outcome::Retry {
                at_ms: now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2),
                error: text,
            }
        }
    }
}

/// Tower layer returned by the backend's `middleware()`; see the module docs.
#[derive(Debug, Clone)]
pub struct AckLayer {
    tx: UnboundedSender<AckEvent>,
    cfg: Arc<QueueConfig>,
}

impl AckLayer {
    pub(crate) fn new(tx: UnboundedSender<AckEvent>, cfg: Arc<QueueConfig>) -> Self {
        Self { tx, cfg }
    }
}

impl<S> Layer<S> for AckLayer {
    type Service = AckService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AckService {
            inner,
            tx: self.tx.clone(),
            cfg: self.cfg.clone(),
        }
    }
}

/// Service produced by [`AckLayer`].
#[derive(Debug, Clone)]
pub struct AckService<S> {
    inner: S,
    tx: UnboundedSender<AckEvent>,
    cfg: Arc<QueueConfig>,
}

impl<S, Args> Service<Task<Args>> for AckService<S>
where
    S: Service<Task<Args>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxDynError>,
    S::Response: Serialize + Send,
{
    type Response = S::Response;
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<S::Response, BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, task: Task<Args>) -> Self::Future {
        let ctx = task.ctx().clone();
        let id: Option<Arc<str>> = ctx
            .data()
            .get::<JobKey>()
            .map(|k| k.0.clone())
            .or_else(|| ctx.task_id().map(|t| Arc::from(t.to_string())));
        let fut = self.inner.call(task);
        let tx = self.tx.clone();
        let cfg = self.cfg.clone();
        Box::pin(async move {
            let res = fut.await.map_err(Into::into);
            match id {
                Some(id) => {
                    let outcome = classify(&res, &ctx, &cfg);
                    if tx.unbounded_send(AckEvent { id, outcome }).is_err() {
                        tracing::warn!(
                            "ack channel closed; outcome lost (job stays in flight until recovered)"
                        );
                    }
                }
                None => tracing::warn!("task without id reached the ack layer"),
            }
            res
        })
    }
}

/// Backoff used by [`classify`] when the error carries none; exposed for tests.
pub fn backoff(cfg: &QueueConfig, attempt: usize) -> Duration {
    cfg.backoff_for(attempt)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use apalis_core::{
        error::{BoxDynError, RetryAfterError},
        task::ExecutionContext,
    };

    use crate::{
        ack::{Outcome, classify},
        config::{QueueConfig, now_ms},
    };

    fn retry_at(res: &Result<(), BoxDynError>, cfg: &QueueConfig) -> Option<i64> {
        match classify(res, &ExecutionContext::default(), cfg) {
            Outcome::Retry { at_ms, .. } => Some(at_ms),
            _ => None,
        }
    }

    #[test]
    fn a_handler_stated_delay_replaces_the_backoff() {
        // A backoff far from the stated delay, so the two cannot be confused.
        let cfg = QueueConfig::new("t")
            .max_attempts(5)
            .backoff(Duration::from_secs(60), Duration::from_secs(600));
        let before = now_ms();
        let stated: Result<(), BoxDynError> = Err(Box::new(RetryAfterError::new(
            "429",
            Duration::from_secs(2),
        )));
        let at = retry_at(&stated, &cfg).expect("retried");
        assert!(
            (before + 2_000..=now_ms() + 2_000).contains(&at),
            "retry at +{} ms",
            at - before
        );
        let generic: Result<(), BoxDynError> = Err("boom".into());
        let at = retry_at(&generic, &cfg).expect("retried");
        assert!(at - before >= 30_000, "backoff +{} ms", at - before);
    }
}
