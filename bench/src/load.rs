//! The load generator for single POSTs: request bodies serialized before the clock starts, one
//! HTTP/1.1 keep-alive connection per slot (hyper's client connection, no pool, no per-request
//! JSON), so the two cores go to the API and Redis rather than to the client.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Full};
use hyper::{
    Request,
    body::Bytes,
    client::conn::http1::SendRequest,
    header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue},
};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpStream, sync::mpsc};

type Connection = SendRequest<Full<Bytes>>;

/// Where the requests go and as whom.
#[derive(Debug, Clone)]
pub struct Target {
    addr: SocketAddr,
    host: HeaderValue,
    authorization: HeaderValue,
    path: &'static str,
}

impl Target {
    /// `base` is `http://127.0.0.1:port`; every request is `POST path` with the bearer token.
    pub fn new(base: &str, token: &str, path: &'static str) -> anyhow::Result<Self> {
        let authority = base
            .strip_prefix("http://")
            .with_context(|| format!("not an http:// address: {base}"))?;
        Ok(Self {
            addr: authority.parse().context("the API address")?,
            host: HeaderValue::from_str(authority)?,
            authorization: HeaderValue::from_str(&format!("Bearer {token}"))?,
            path,
        })
    }

    async fn connect(&self) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// Sends one body and checks for `202`; the latency is counted from `since`.
    async fn post(
        &self,
        connection: &mut Connection,
        body: Bytes,
        since: Instant,
    ) -> anyhow::Result<Duration> {
        let request = Request::post(self.path)
            .header(HOST, self.host.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(body))?;
        connection.ready().await?;
        let response = connection.send_request(request).await?;
        let status = response.status();
        let answer = response.into_body().collect().await?.to_bytes();
        if status.as_u16() != 202 {
            bail!(
                "{} answered {status}: {}",
                self.path,
                String::from_utf8_lossy(&answer)
            );
        }
        Ok(since.elapsed())
    }
}

/// Closed loop: every connection sends the next body as soon as its previous answer arrived.
/// Returns each request's latency and the wall time of the whole run.
pub async fn closed_loop(
    target: &Target,
    bodies: Arc<Vec<Bytes>>,
    connections: usize,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let mut open = Vec::with_capacity(connections);
    for _ in 0..connections {
        open.push(target.connect().await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = open
        .into_iter()
        .map(|mut connection| {
            let (target, bodies, next) = (target.clone(), bodies.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(bodies.len() / connections + 1);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let sent = Instant::now();
                    latencies.push(target.post(&mut connection, body.clone(), sent).await?);
                }
                Ok::<_, anyhow::Error>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(bodies.len());
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok((latencies, started.elapsed()))
}

/// Open loop: one request every `1 / rate` seconds on the first free connection (at most
/// `connections` in flight). Latency is counted from the moment the generator woke up to send
/// the request, before it waited for a free connection, so a stall of the API shows in the
/// figures instead of hiding in the schedule (the timer's own 1 ms granularity does not).
pub async fn open_loop(
    target: &Target,
    bodies: Arc<Vec<Bytes>>,
    connections: usize,
    rate: f64,
) -> anyhow::Result<Vec<Duration>> {
    let (free, mut idle) = mpsc::channel::<Connection>(connections);
    for _ in 0..connections {
        free.send(target.connect().await?).await?;
    }
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1.0)));
    let mut pending = Vec::with_capacity(bodies.len());
    for body in bodies.iter() {
        ticker.tick().await;
        let due = Instant::now();
        let mut connection = idle.recv().await.context("connection pool closed")?;
        let (target, body, free) = (target.clone(), body.clone(), free.clone());
        pending.push(tokio::spawn(async move {
            let latency = target.post(&mut connection, body, due).await;
            let _ = free.send(connection).await;
            latency
        }));
    }
    let mut latencies = Vec::with_capacity(pending.len());
    for p in pending {
        latencies.push(p.await??);
    }
    Ok(latencies)
}

/// Paced open loop: body `i` is sent at `started + due[i]` on the first free connection (at
/// most `connections` in flight), whatever the answers' latency, and `accepted` counts the
/// `202`s as they arrive. Returns when every request was answered; the first refusal or
/// connection error ends the run with it.
pub async fn paced(
    target: &Target,
    bodies: Arc<Vec<Bytes>>,
    due: &[Duration],
    connections: usize,
    started: Instant,
    accepted: Arc<std::sync::atomic::AtomicU64>,
) -> anyhow::Result<()> {
    let (free, mut idle) = mpsc::channel::<Connection>(connections);
    for _ in 0..connections {
        free.send(target.connect().await?).await?;
    }
    let mut pending = Vec::with_capacity(bodies.len());
    for (body, at) in bodies.iter().zip(due) {
        tokio::time::sleep_until((started + *at).into()).await;
        let now = Instant::now();
        let mut connection = idle.recv().await.context("connection pool closed")?;
        let (target, body, free, accepted) =
            (target.clone(), body.clone(), free.clone(), accepted.clone());
        pending.push(tokio::spawn(async move {
            let answered = target.post(&mut connection, body, now).await;
            let _ = free.send(connection).await;
            answered.map(|_| {
                accepted.fetch_add(1, Ordering::Relaxed);
            })
        }));
    }
    for p in pending {
        p.await??;
    }
    Ok(())
}
