//! The API's HTTP/1.1 server: the accept loop, the connection cap ([`crate::connections`]),
//! each connection served by hyper under its header and idle timeouts ([`crate::watchdog`]),
//! and the graceful shutdown (stop accepting, close idle connections, let requests in flight
//! finish).
//!
//! The accept loop never waits on a connection: a served one runs in its own task, a shed one
//! is answered with one non-blocking write, a probe in the reserve gets a task bounded by
//! [`crate::shed::SNIFF_WINDOW`]. So half-open connections cannot starve it.

use std::{convert::Infallible, future::Future, pin::Pin, sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::Request, response::Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt;

use crate::{
    connections::{Admission, ConnectionLimit, LIVEZ_RESERVE},
    shed,
    watchdog::{Activity, Timeouts, Verdict, Watched, instant_of},
};

/// How the server treats connections.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Header and idle timeouts.
    pub timeouts: Timeouts,
    /// Most connections served at once.
    pub max_connections: usize,
}

/// How long the accept loop backs off after an accept error (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `shutdown` resolves, then drains: no new connection,
/// idle ones closed, requests in flight answered.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    liveness: Vec<u8>,
    shutdown: impl Future<Output = ()>,
) {
    let cap = ConnectionLimit::new(limits.max_connections, LIVEZ_RESERVE);
    let liveness: Arc<[u8]> = shed::liveness_answer(&liveness).into();
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed; backing off");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        match cap.admit() {
            Admission::Serve(slot) => {
                let router = router.clone();
                let stopping = stopping.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    connection(stream, router, limits.timeouts, stopping).await;
                    drop(slot);
                });
            }
            Admission::Probe(slot) => {
                let liveness = liveness.clone();
                tokio::spawn(async move { shed::probe(stream, slot, &liveness).await });
            }
            Admission::Shed => shed::shed(stream),
        }
    }
    drop(listener);
    tracing::info!(open = cap.served(), "draining connections");
    let _ = stop.send(true);
    drop(stopping);
    stop.closed().await;
}

/// Serves one connection until it closes, its timeouts expire, or (on shutdown) it is idle.
async fn connection(
    stream: tokio::net::TcpStream,
    router: Router,
    timeouts: Timeouts,
    mut stopping: watch::Receiver<bool>,
) {
    let activity = Activity::new();
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let service = Tracked {
        router,
        activity: activity.clone(),
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut draining = *stopping.borrow();
    loop {
        if draining && !activity.is_busy() {
            return;
        }
        let due = match activity.verdict(timeouts) {
            Verdict::Expired => return,
            Verdict::WaitUntil(ms) => tokio::time::Instant::from_std(instant_of(ms)),
        };
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            changed = stopping.changed(), if !draining => {
                draining = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(due) => {}
        }
    }
}

/// The router as hyper's service, marking the connection busy while a request is answered.
#[derive(Clone)]
struct Tracked {
    router: Router,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let busy = self.activity.begin();
        let router = self.router.clone();
        Box::pin(async move {
            let answer = router.oneshot(request.map(Body::new)).await;
            drop(busy);
            answer
        })
    }
}
