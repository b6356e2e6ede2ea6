//! The request span, `X-Request-Id` and the request metrics, in one hand-written layer (no
//! boxed `from_fn` future per request): every request runs in a `request` span naming its
//! method, matched route, request id and (once authenticated) the caller's role, so every log
//! line of a request names it; the id is the client's (a visible-ASCII value of at most
//! [`MAX_LEN`] characters) or a fresh UUID, and is echoed on every answer, errors and 404s
//! included.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request},
    http::{HeaderName, HeaderValue, Method},
    response::Response,
};
use tower::{Layer, Service};
use tracing::{Instrument, instrument::Instrumented};

use crate::http_metrics;

/// The header, in and out.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Longest client id kept; a longer (or otherwise unusable) one is replaced.
pub const MAX_LEN: usize = 128;

/// The client's id when it is sane, else a fresh UUID.
fn request_id(request: &Request) -> HeaderValue {
    request
        .headers()
        .get(&HEADER)
        .filter(|v| {
            let bytes = v.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_LEN
                && bytes.iter().all(|b| b.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            let mut buffer = uuid::Uuid::encode_buffer();
            let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
            HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
        })
}

/// The outermost layer: runs each request in its span and echoes (or mints) its
/// `X-Request-Id`. A plain tower layer (no boxed future, no cloned inner service per request).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpanLayer;

impl<S> Layer<S> for RequestSpanLayer {
    type Service = RequestSpan<S>;

    fn layer(&self, inner: S) -> RequestSpan<S> {
        RequestSpan { inner }
    }
}

/// The service of [`RequestSpanLayer`].
#[derive(Debug, Clone)]
pub struct RequestSpan<S> {
    inner: S,
}

impl<S, B> Service<Request> for RequestSpan<S>
where
    S: Service<Request, Response = Response<B>>,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Echo<Instrumented<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let id = request_id(&request);
        let matched = request.extensions().get::<MatchedPath>().cloned();
        let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            request_id = %id.to_str().unwrap_or_default(),
            role = tracing::field::Empty,
        );
        let method = request.method().clone();
        request.headers_mut().insert(HEADER.clone(), id.clone());
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Echo {
            future: future.instrument(span),
            id: Some(id),
            measured: Some((matched, method, Instant::now())),
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`RequestSpan`], with the request id set on it and its metrics recorded.
    pub struct Echo<F> {
        #[pin]
        future: F,
        id: Option<HeaderValue>,
        measured: Option<(Option<MatchedPath>, Method, Instant)>,
    }
}

impl<F, B, E> Future for Echo<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.future.poll(cx))?;
        if let Some(id) = this.id.take() {
            response.headers_mut().insert(HEADER.clone(), id);
        }
        if let Some((matched, method, started)) = this.measured.take() {
            let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
            http_metrics::record(route, &method, response.status(), started);
        }
        Poll::Ready(Ok(response))
    }
}
