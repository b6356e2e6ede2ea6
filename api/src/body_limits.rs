//! The bounds on request bodies, as one layer of the route stack: a body declared over the
//! body limit answers 413 before a byte of it is read; every body counts its size (declared, or
//! the body limit when chunked) against one budget of in-flight body bytes shared by all
//! requests, and a request the budget cannot take answers 503 with `Retry-After` (so many
//! large bodies at once cannot take the process over its memory limit); and a body must arrive
//! in full within the body timeout of its headers, or reading it fails with [`BodyTimedOut`]
//! (answered 408 by the extractor, see [`crate::extract`]).

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::Request,
    response::{IntoResponse, Response},
};
use http_body::{Frame, SizeHint};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Sleep,
};
use tower::{Layer, Service};

use crate::problem::ApiError;

/// A body did not arrive within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimedOut(pub Duration);

/// The layer: one budget for every route it wraps.
#[derive(Debug, Clone)]
pub struct BodyLimitsLayer {
    budget: Arc<Semaphore>,
    max_body: usize,
    timeout: Duration,
}

impl BodyLimitsLayer {
    /// Bodies of at most `max_body` bytes, `budget` bytes of them at once, each within
    /// `timeout`.
    pub fn new(max_body: usize, budget: usize, timeout: Duration) -> Self {
        Self {
            budget: Arc::new(Semaphore::new(budget.min(Semaphore::MAX_PERMITS))),
            max_body,
            timeout,
        }
    }

    /// The largest body a request may carry.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// What `request`'s body is allowed: `Ok(None)` for no body, `Ok(Some(permit))` for a body
    /// the budget holds, or the refusal.
    fn admit(&self, request: &Request) -> Result<Option<OwnedSemaphorePermit>, ApiError> {
        let hint = http_body::Body::size_hint(request.body());
        if hint.exact() == Some(0) {
            return Ok(None);
        }
        let max_body = u64::try_from(self.max_body).unwrap_or(u64::MAX);
        let size = match hint.exact() {
            Some(declared) if declared > max_body => return Err(ApiError::PayloadTooLarge),
            Some(declared) => declared,
            None => max_body,
        };
        let permits = u32::try_from(size).map_err(|_| ApiError::PayloadTooLarge)?;
        self.budget
            .clone()
            .try_acquire_many_owned(permits)
            .map(Some)
            .map_err(|_| ApiError::Overloaded)
    }
}

impl<S> Layer<S> for BodyLimitsLayer {
    type Service = BodyLimits<S>;

    fn layer(&self, inner: S) -> BodyLimits<S> {
        BodyLimits {
            inner,
            limits: self.clone(),
        }
    }
}

/// The service of [`BodyLimitsLayer`].
#[derive(Debug, Clone)]
pub struct BodyLimits<S> {
    inner: S,
    limits: BodyLimitsLayer,
}

impl<S> Service<Request> for BodyLimits<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Limited<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.limits.admit(&request) {
            Ok(None) => Limited::Call {
                future: self.inner.call(request),
                permit: None,
            },
            Ok(Some(permit)) => {
                let timeout = self.limits.timeout;
                let request = request.map(|body| Body::new(Deadline::new(body, timeout)));
                Limited::Call {
                    future: self.inner.call(request),
                    permit: Some(permit),
                }
            }
            Err(refusal) => Limited::Refused {
                response: Some(refusal.into_response()),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`BodyLimits`]: the route's, holding the body's share of the budget until
    /// it is ready, or the refusal.
    #[project = LimitedProjection]
    pub enum Limited<F> {
        /// The route answers.
        Call { #[pin] future: F, permit: Option<OwnedSemaphorePermit> },
        /// Refused before the route.
        Refused { response: Option<Response> },
    }
}

impl<F, E> Future for Limited<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            LimitedProjection::Call { future, permit } => {
                let answer = std::task::ready!(future.poll(cx));
                drop(permit.take());
                Poll::Ready(answer)
            }
            LimitedProjection::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// A body that fails with [`BodyTimedOut`] once its deadline passes.
    pub struct Deadline {
        #[pin]
        inner: Body,
        #[pin]
        deadline: Sleep,
        timeout: Duration,
    }
}

impl Deadline {
    /// `inner`, due within `timeout` from now.
    pub fn new(inner: Body, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: tokio::time::sleep(timeout),
            timeout,
        }
    }
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match this.deadline.poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(*this.timeout)))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::{body::Body, extract::Request};

    use crate::{body_limits::BodyLimitsLayer, problem::ApiError};

    fn post(length: usize) -> Request {
        Request::builder()
            .method("POST")
            .uri("/")
            .body(Body::from(vec![b'0'; length]))
            .unwrap_or_default()
    }

    #[test]
    fn bodies_share_one_budget_and_a_body_over_the_limit_is_refused_unread() {
        let layer = BodyLimitsLayer::new(100, 250, Duration::from_secs(1));
        assert!(matches!(layer.admit(&post(0)), Ok(None)));
        assert!(matches!(
            layer.admit(&post(101)),
            Err(ApiError::PayloadTooLarge)
        ));
        let first = layer.admit(&post(100));
        let second = layer.admit(&post(100));
        assert!(matches!((&first, &second), (Ok(Some(_)), Ok(Some(_)))));
        assert!(matches!(layer.admit(&post(100)), Err(ApiError::Overloaded)));
        assert!(
            matches!(layer.admit(&post(50)), Ok(Some(_))),
            "50 bytes are left"
        );
        drop(first);
        assert!(
            matches!(layer.admit(&post(100)), Ok(Some(_))),
            "its share is back"
        );
    }
}
