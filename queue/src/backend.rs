//! The apalis [`Backend`] for Redis: [`RedisQueue`].

use std::{
    collections::VecDeque,
    marker::PhantomData,
    pin::Pin,
    str::FromStr,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use apalis_codec::json::JsonCodec;
use apalis_core::{
    backend::{
        Backend, BackendConfig, WireFormatBackend, finalize::Durable, future::BoxSyncFuture,
        queue::Queue,
    },
    task::{Task, builder::TaskBuilder, task_id::TaskId},
    worker::context::WorkerContext,
};
use futures::{
    FutureExt, Sink,
    channel::mpsc::{self, UnboundedReceiver},
};
use redis::{
    Client,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::time::Sleep;
use ulid::Ulid;

use crate::{
    ack::{AckEvent, AckLayer, JobKey},
    coalesce::Coalescer,
    config::{Keys, QueueConfig, now_ms},
    error::{QueueError, Result},
    scripts::{FetchedJob, Scripts},
};

/// Shared, immutable part of a queue handle.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) cfg: Arc<QueueConfig>,
    pub(crate) keys: Keys,
    pub(crate) client: Client,
    pub(crate) scripts: Scripts,
    /// Single pushes ride together in one script call (see [`crate::coalesce`]).
    pub(crate) coalescer: Coalescer,
}

/// A Redis-backed apalis backend and producer handle for one queue.
///
/// * As a **producer**: `TaskSink` (`push`, `push_bulk`, `push_task`, ...) or the inherent
///   [`enqueue`](Self::enqueue) / [`enqueue_bulk`](Self::enqueue_bulk) which return the
///   minted ids. Clone freely; clones share one multiplexed connection.
/// * As a **worker source**: `WorkerBuilder::new(name).backend(queue.clone())`. Each
///   worker opens one extra connection for its blocking `BLMOVE`.
/// * As an **admin handle**: see [`crate::admin`].
///
/// Worker names must be unique across live processes (e.g. `pod-pid-random`): the
/// in-flight list and liveness are keyed by name.
pub struct RedisQueue<Args> {
    pub(crate) inner: Arc<Inner>,
    pub(crate) conn: ConnectionManager,
    codec: JsonCodec<Vec<u8>>,
    sink_buffer: Vec<Task<Vec<u8>>>,
    sink_fut: Option<BoxSyncFuture<Result<()>>>,
    runtime: Option<Box<WorkerRuntime>>,
    _args: PhantomData<fn() -> Args>,
}

impl<Args> std::fmt::Debug for RedisQueue<Args> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("queue", &self.inner.cfg.queue)
            .field("namespace", &self.inner.cfg.namespace)
            .field("worker", &self.runtime.as_ref().map(|r| r.name.clone()))
            .finish()
    }
}

impl<Args> Clone for RedisQueue<Args> {
    /// A clone shares the connection and config but not the worker state.
    fn clone(&self) -> Self {
        self.typed()
    }
}

impl<Args> RedisQueue<Args> {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379`) with the given queue config.
    pub async fn connect(url: &str, cfg: QueueConfig) -> Result<Self> {
        let client = Client::open(url)?;
        Self::from_client(client, cfg).await
    }

    /// Builds a queue handle from an existing client (connecting now).
    pub async fn from_client(client: Client, cfg: QueueConfig) -> Result<Self> {
        let conn = manager(&client, cfg.response_timeout).await?;
        Ok(Self::with_connection(client, conn, cfg))
    }

    /// Builds a handle on an existing connection without touching Redis, so a process can start
    /// while Redis is down (a lazy `ConnectionManager` connects on first use).
    pub fn with_connection(client: Client, conn: ConnectionManager, cfg: QueueConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                keys: cfg.keys(),
                cfg: Arc::new(cfg),
                client,
                scripts: Scripts::new(),
                coalescer: Coalescer::default(),
            }),
            conn,
            codec: JsonCodec::default(),
            sink_buffer: Vec::new(),
            sink_fut: None,
            runtime: None,
            _args: PhantomData,
        }
    }

    /// The same queue (config, connection, scripts) with another argument type.
    pub fn typed<T>(&self) -> RedisQueue<T> {
        RedisQueue {
            inner: self.inner.clone(),
            conn: self.conn.clone(),
            codec: JsonCodec::default(),
            sink_buffer: Vec::new(),
            sink_fut: None,
            runtime: None,
            _args: PhantomData,
        }
    }

    /// The queue's configuration.
    pub fn config(&self) -> &QueueConfig {
        &self.inner.cfg
    }

    /// What single pushes through this queue (and its clones) have cost in script calls.
    pub fn push_stats(&self) -> crate::PushStats {
        self.inner.coalescer.stats()
    }

    /// The queue's Redis keys.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// Pushes already encoded jobs (id, payload, run_at_ms, max_attempts), 1,000 per script
    /// call; ids the queue already knows are skipped.
    pub(crate) async fn push_encoded(&self, jobs: Vec<EncodedJob>) -> Result<()> {
        push_jobs(self.inner.clone(), self.conn.clone(), jobs).await
    }
}

impl<Args: serde::Serialize> RedisQueue<Args> {
    /// Enqueues one job to run now; returns its id (a ULID minted here).
    pub async fn enqueue(&self, args: &Args) -> Result<String> {
        let id = Ulid::generate().to_string();
        self.enqueue_with_id(&id, args, None).await?;
        Ok(id)
    }

    /// Enqueues one job under a producer-minted id (e.g. the id already returned by a
    /// `202 Accepted`), optionally delayed.
    pub async fn enqueue_with_id(
        &self,
        id: &str,
        args: &Args,
        delay: Option<Duration>,
    ) -> Result<()> {
        let run_at_ms = delay.map(|d| now_ms() + d.as_millis() as i64);
        let payload = serde_json::to_vec(args)?;
        let job = EncodedJob {
            id: id.to_owned(),
            payload,
            run_at_ms,
            max_attempts: None,
        };
        // Concurrent single pushes share one script call (group commit on the producer side).
        self.inner
            .coalescer
            .push(&self.inner, &self.conn, job)
            .await
    }

    /// Enqueues many jobs under producer-minted ids, to run now, 1,000 per round trip; ids the
    /// queue already knows are skipped.
    pub async fn enqueue_bulk_with_ids(&self, jobs: &[(String, &Args)]) -> Result<()> {
        let mut encoded = Vec::with_capacity(jobs.len());
        for (id, args) in jobs {
            encoded.push(EncodedJob {
                id: id.clone(),
                payload: serde_json::to_vec(args)?,
                run_at_ms: None,
                max_attempts: None,
            });
        }
        self.push_encoded(encoded).await
    }

    /// Enqueues many jobs to run now; returns their ids in order.
    pub async fn enqueue_bulk(&self, args: &[Args]) -> Result<Vec<String>> {
        self.enqueue_bulk_at(args, None).await
    }

    /// Enqueues many jobs to run after `delay`; returns their ids in order.
    pub async fn enqueue_bulk_delayed(
        &self,
        args: &[Args],
        delay: Duration,
    ) -> Result<Vec<String>> {
        self.enqueue_bulk_at(args, Some(now_ms() + delay.as_millis() as i64))
            .await
    }

    async fn enqueue_bulk_at(&self, args: &[Args], run_at_ms: Option<i64>) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(args.len());
        let mut jobs = Vec::with_capacity(args.len());
        for a in args {
            let id = Ulid::generate().to_string();
            jobs.push(EncodedJob {
                id: id.clone(),
                payload: serde_json::to_vec(a)?,
                run_at_ms,
                max_attempts: None,
            });
            ids.push(id);
        }
        self.push_encoded(jobs).await?;
        Ok(ids)
    }
}

/// A job ready to be written.
#[derive(Debug, Clone, Default)]
pub(crate) struct EncodedJob {
    pub(crate) id: String,
    pub(crate) payload: Vec<u8>,
    /// `None` or past: ready now.
    pub(crate) run_at_ms: Option<i64>,
    pub(crate) max_attempts: Option<usize>,
}

impl EncodedJob {
    fn from_task(task: Task<Vec<u8>>) -> Self {
        let ctx = task.ctx().clone();
        let id = ctx
            .data()
            .get::<JobKey>()
            .map(|k| k.0.to_string())
            .or_else(|| ctx.task_id().map(ToString::to_string))
            .unwrap_or_else(|| Ulid::generate().to_string());
        Self {
            id,
            payload: task.args,
            // apalis' run_at is in seconds.
            run_at_ms: ctx.run_at().map(|s| s as i64 * 1000),
            max_attempts: ctx.max_attempts(),
        }
    }
}

async fn manager(client: &Client, response_timeout: Duration) -> Result<ConnectionManager> {
    let cfg = ConnectionManagerConfig::new()
        .set_response_timeout(Some(response_timeout))
        .set_connection_timeout(Some(Duration::from_secs(5)));
    Ok(client.get_connection_manager_with_config(cfg).await?)
}

async fn push_jobs(
    inner: Arc<Inner>,
    mut conn: ConnectionManager,
    jobs: Vec<EncodedJob>,
) -> Result<()> {
    // One script call per chunk: bounded arguments, and ids the queue already knows are skipped
    // atomically (a producer may retry a push under the same id).
    for chunk in jobs.chunks(crate::scripts::ID_CHUNK) {
        inner.scripts.push(&mut conn, &inner, chunk).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Worker side
// ---------------------------------------------------------------------------------------

/// Reply of one fetch round.
struct FetchBatch {
    jobs: Vec<FetchedJob>,
}

enum Phase {
    Unregistered,
    Registering(BoxSyncFuture<Result<(ConnectionManager, Option<i64>)>>),
    Running,
    Closing(BoxSyncFuture<Result<()>>),
    Closed,
}

/// Per-worker state; exists only on the backend instance handed to a `WorkerBuilder`.
struct WorkerRuntime {
    name: String,
    inflight: String,
    acks: Option<UnboundedReceiver<AckEvent>>,
    pending_acks: Vec<AckEvent>,
    phase: Phase,
    block_conn: Option<ConnectionManager>,
    block_client_id: Option<i64>,
    buffer: VecDeque<Task<Vec<u8>>>,
    fetch: Option<BoxSyncFuture<Result<FetchBatch>>>,
    ack: Option<AckFuture>,
    heartbeat: Option<BoxSyncFuture<Result<bool>>>,
    hb_timer: Pin<Box<Sleep>>,
    fetch_delay: Option<Pin<Box<Sleep>>>,
    ack_delay: Option<Pin<Box<Sleep>>>,
    failing_since: Option<Instant>,
}

impl WorkerRuntime {
    fn new(acks: UnboundedReceiver<AckEvent>) -> Self {
        Self {
            name: String::new(),
            inflight: String::new(),
            acks: Some(acks),
            pending_acks: Vec::new(),
            phase: Phase::Unregistered,
            block_conn: None,
            block_client_id: None,
            buffer: VecDeque::new(),
            fetch: None,
            ack: None,
            heartbeat: None,
            hb_timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            fetch_delay: None,
            ack_delay: None,
            failing_since: None,
        }
    }

    fn ok(&mut self) {
        self.failing_since = None;
    }

    /// Records a Redis failure; fatal once it lasted longer than `unavailable_after`.
    fn fail(&mut self, e: QueueError, what: &str, cfg: &QueueConfig) -> Result<()> {
        tracing::warn!(worker = %self.name, error = %e, "{what} failed; will retry");
        let since = *self.failing_since.get_or_insert_with(Instant::now);
        if since.elapsed() > cfg.unavailable_after {
            return Err(QueueError::Unavailable(since.elapsed(), e.to_string()));
        }
        Ok(())
    }
}

/// An ack flush; on failure it hands its events back for a retry.
type AckFuture = BoxSyncFuture<std::result::Result<(), (QueueError, Vec<AckEvent>)>>;

const RETRY_DELAY: Duration = Duration::from_millis(500);

fn register_future(
    inner: Arc<Inner>,
    mut conn: ConnectionManager,
    name: String,
) -> BoxSyncFuture<Result<(ConnectionManager, Option<i64>)>> {
    async move {
        let cfg = &inner.cfg;
        let mut block = manager(&inner.client, cfg.block_timeout + cfg.response_timeout).await?;
        // Remembered so shutdown can CLIENT UNBLOCK a pending BLMOVE (best effort:
        // after a reconnect the id is stale and shutdown waits ≤ block_timeout instead).
        let block_id: Option<i64> = redis::cmd("CLIENT")
            .arg("ID")
            .query_async(&mut block)
            .await
            .ok();
        // Heartbeat + give back whatever a previous incarnation of this name left in flight.
        while inner
            .scripts
            .heartbeat(&mut conn, &inner, &name, true)
            .await?
        {}
        Ok((block, block_id))
    }
    .boxed()
    .into()
}

impl<Args> RedisQueue<Args> {
    /// Drives heartbeat/orphan recovery and ack flushing; never blocks on them.
    fn drive_background(
        inner: &Arc<Inner>,
        conn: &ConnectionManager,
        rt: &mut WorkerRuntime,
        cx: &mut Context<'_>,
    ) -> Result<()> {
        let cfg = &inner.cfg;
        // Heartbeat (and bounded orphan recovery).
        if rt.heartbeat.is_none() && rt.hb_timer.as_mut().poll(cx).is_ready() {
            let inner2 = inner.clone();
            let mut c = conn.clone();
            let name = rt.name.clone();
            rt.heartbeat = Some(
                async move {
                    inner2
                        .scripts
                        .heartbeat(&mut c, &inner2, &name, false)
                        .await
                }
                .boxed()
                .into(),
            );
            let next = tokio::time::Instant::now() + cfg.heartbeat_interval;
            rt.hb_timer.as_mut().reset(next);
        }
        if let Some(f) = rt.heartbeat.as_mut()
            && let Poll::Ready(r) = f.poll_unpin(cx)
        {
            rt.heartbeat = None;
            match r {
                Ok(more) => {
                    rt.ok();
                    if more {
                        rt.hb_timer.as_mut().reset(tokio::time::Instant::now());
                        cx.waker().wake_by_ref();
                    }
                }
                Err(e) => {
                    rt.fail(e, "heartbeat", cfg)?;
                    rt.hb_timer
                        .as_mut()
                        .reset(tokio::time::Instant::now() + RETRY_DELAY);
                }
            }
        }
        // Acks.
        if let Some(d) = rt.ack_delay.as_mut() {
            if d.as_mut().poll(cx).is_pending() {
                return Ok(());
            }
            rt.ack_delay = None;
        }
        loop {
            if let Some(f) = rt.ack.as_mut() {
                match f.poll_unpin(cx) {
                    Poll::Pending => return Ok(()),
                    Poll::Ready(Ok(())) => {
                        rt.ack = None;
                        rt.ok();
                    }
                    Poll::Ready(Err((e, mut events))) => {
                        rt.ack = None;
                        events.append(&mut rt.pending_acks);
                        rt.pending_acks = events;
                        rt.fail(e, "ack", cfg)?;
                        let mut d = Box::pin(tokio::time::sleep(RETRY_DELAY));
                        let _ = d.as_mut().poll(cx);
                        rt.ack_delay = Some(d);
                        return Ok(());
                    }
                }
            }
            if let Some(rx) = rt.acks.as_mut() {
                while rt.pending_acks.len() < cfg.ack_chunk {
                    match rx.try_recv() {
                        Ok(ev) => rt.pending_acks.push(ev),
                        Err(_) => break,
                    }
                }
            }
            if rt.pending_acks.is_empty() {
                return Ok(());
            }
            let take = rt.pending_acks.len().min(cfg.ack_chunk);
            let events: Vec<AckEvent> = rt.pending_acks.drain(..take).collect();
            let inner2 = inner.clone();
            let mut c = conn.clone();
            let inflight = rt.inflight.clone();
            rt.ack = Some(
                async move {
                    match inner2
                        .scripts
                        .ack(&mut c, &inner2, &inflight, &events)
                        .await
                    {
                        Ok(()) => Ok(()),
                        Err(e) => Err((e, events)),
                    }
                }
                .boxed()
                .into(),
            );
        }
    }

    fn fetch_future(
        inner: Arc<Inner>,
        mut conn: ConnectionManager,
        rt: &WorkerRuntime,
    ) -> Result<BoxSyncFuture<Result<FetchBatch>>> {
        let mut block = rt.block_conn.clone().ok_or(QueueError::NotBound)?;
        let inflight = rt.inflight.clone();
        Ok(async move {
            let cfg = &inner.cfg;
            let (jobs, next_due) = inner
                .scripts
                .fetch(&mut conn, &inner, &inflight, cfg.prefetch, "")
                .await?;
            if !jobs.is_empty() {
                return Ok(FetchBatch { jobs });
            }
            let mut wait = cfg.block_timeout;
            if next_due > 0 {
                let until = Duration::from_millis((next_due - now_ms()).max(10) as u64);
                wait = wait.min(until);
            }
            let id: Option<String> = redis::cmd("BLMOVE")
                .arg(&inner.keys.ready)
                .arg(&inflight)
                .arg("LEFT")
                .arg("RIGHT")
                .arg(format!("{:.3}", wait.as_secs_f64()))
                .query_async(&mut block)
                .await?;
            match id {
                None => Ok(FetchBatch { jobs: Vec::new() }),
                Some(id) => {
                    let (jobs, _) = inner
                        .scripts
                        .fetch(&mut conn, &inner, &inflight, cfg.prefetch, &id)
                        .await?;
                    Ok(FetchBatch { jobs })
                }
            }
        }
        .boxed()
        .into())
    }

    fn to_task(cfg: &QueueConfig, worker: &str, f: FetchedJob) -> Result<Task<Vec<u8>>> {
        let task_id = TaskId::from_str(&f.id).map_err(|_| QueueError::InvalidId(f.id.clone()))?;
        Ok(TaskBuilder::new(f.payload)
            .task_id(task_id)
            // apalis' lifecycle layer adds 1 when the task starts, so the handler sees
            // the delivery count stored in Redis.
            .attempt(f.attempts.saturating_sub(1))
            .max_attempts(f.max)
            .queue(Queue::from(cfg.queue.as_str()))
            .lock_by(Some(worker.to_owned()))
            .lock_at(Some((now_ms() / 1000) as u64))
            .data(JobKey(Arc::from(f.id)))
            .build())
    }

    fn close_future(&mut self) -> Result<BoxSyncFuture<Result<()>>> {
        let rt = self.runtime.as_mut().ok_or(QueueError::NotBound)?;
        let inner = self.inner.clone();
        let mut conn = self.conn.clone();
        let fetch = rt.fetch.take();
        let ack = rt.ack.take();
        let mut buffered: Vec<String> = rt
            .buffer
            .drain(..)
            .filter_map(|t| t.ctx().data().get::<JobKey>().map(|k| k.0.to_string()))
            .collect();
        let mut pending = std::mem::take(&mut rt.pending_acks);
        let mut rx = rt.acks.take();
        let inflight = rt.inflight.clone();
        let name = rt.name.clone();
        let block_id = rt.block_client_id;
        Ok(async move {
            // A fetch may be blocked in BLMOVE: wake it (it then answers nil), let it land,
            // then release whatever it claimed.
            if let Some(mut f) = fetch {
                if let Some(id) = block_id {
                    let unblocked: redis::RedisResult<i64> =
                        redis::cmd("CLIENT").arg("UNBLOCK").arg(id).query_async(&mut conn).await;
                    if let Err(e) = unblocked {
                        tracing::debug!(error = %e, "CLIENT UNBLOCK failed; waiting for BLMOVE timeout");
                    }
                }
                match futures::future::poll_fn(|cx| f.poll_unpin(cx)).await {
                    Ok(batch) => buffered.extend(batch.jobs.into_iter().map(|j| j.id)),
                    Err(e) => tracing::warn!(error = %e, "fetch during shutdown failed"),
                }
            }
            for chunk in buffered.chunks(1_000) {
                let n = inner.scripts.release(&mut conn, &inner, &inflight, chunk).await?;
                tracing::debug!(worker = %name, released = n, "released prefetched jobs");
            }
            if let Some(mut f) = ack
                && let Err((e, events)) = futures::future::poll_fn(|cx| f.poll_unpin(cx)).await
            {
                tracing::warn!(error = %e, "ack during shutdown failed; retrying once");
                pending.extend(events);
            }
            if let Some(rx) = rx.as_mut() {
                while let Ok(ev) = rx.try_recv() {
                    pending.push(ev);
                }
            }
            for chunk in pending.chunks(inner.cfg.ack_chunk.max(1)) {
                inner.scripts.ack(&mut conn, &inner, &inflight, chunk).await?;
            }
            let removed = inner.scripts.deregister(&mut conn, &inner, &name).await?;
            if !removed {
                tracing::warn!(worker = %name, "jobs still in flight at close; left for orphan recovery");
            }
            Ok(())
        }
        .boxed()
        .into())
    }
}

impl<Args> Backend for RedisQueue<Args> {
    type Task = Task<Vec<u8>>;
    type Error = QueueError;

    fn poll_ready(&mut self, cx: &mut Context<'_>, worker: &WorkerContext) -> Poll<Result<()>> {
        let Some(rt) = self.runtime.as_mut() else {
            return Poll::Ready(Err(QueueError::NotBound));
        };
        loop {
            match &mut rt.phase {
                Phase::Unregistered => {
                    rt.name = worker.name().to_owned();
                    rt.inflight = self.inner.keys.inflight(&rt.name);
                    let fut =
                        register_future(self.inner.clone(), self.conn.clone(), rt.name.clone());
                    rt.phase = Phase::Registering(fut);
                }
                Phase::Registering(f) => match f.poll_unpin(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        // Nothing was claimed yet; never poll the finished future again.
                        rt.phase = Phase::Closed;
                        return Poll::Ready(Err(e));
                    }
                    Poll::Ready(Ok((block, id))) => {
                        rt.block_conn = Some(block);
                        rt.block_client_id = id;
                        rt.hb_timer
                            .as_mut()
                            .reset(tokio::time::Instant::now() + self.inner.cfg.heartbeat_interval);
                        rt.phase = Phase::Running;
                        worker.heartbeat(cx);
                    }
                },
                Phase::Running => break,
                Phase::Closing(_) | Phase::Closed => return Poll::Ready(Ok(())),
            }
        }
        Poll::Ready(Self::drive_background(&self.inner, &self.conn, rt, cx))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task>>> {
        loop {
            let Some(rt) = self.runtime.as_mut() else {
                return Poll::Ready(Some(Err(QueueError::NotBound)));
            };
            if !matches!(rt.phase, Phase::Running) {
                return Poll::Pending;
            }
            if let Err(e) = Self::drive_background(&self.inner, &self.conn, rt, cx) {
                return Poll::Ready(Some(Err(e)));
            }
            if let Some(task) = rt.buffer.pop_front() {
                return Poll::Ready(Some(Ok(task)));
            }
            if let Some(d) = rt.fetch_delay.as_mut() {
                if d.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                rt.fetch_delay = None;
            }
            if rt.fetch.is_none() {
                match Self::fetch_future(self.inner.clone(), self.conn.clone(), rt) {
                    Ok(f) => rt.fetch = Some(f),
                    Err(e) => return Poll::Ready(Some(Err(e))),
                }
            }
            let Some(f) = rt.fetch.as_mut() else { continue };
            match f.poll_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(batch)) => {
                    rt.fetch = None;
                    rt.ok();
                    for j in batch.jobs {
                        match Self::to_task(&self.inner.cfg, &rt.name, j) {
                            Ok(t) => rt.buffer.push_back(t),
                            Err(e) => {
                                tracing::error!(error = %e, "undeliverable job left in flight")
                            }
                        }
                    }
                }
                Poll::Ready(Err(e)) => {
                    rt.fetch = None;
                    let cfg = self.inner.cfg.clone();
                    if let Err(fatal) = rt.fail(e, "fetch", &cfg) {
                        return Poll::Ready(Some(Err(fatal)));
                    }
                    rt.fetch_delay = Some(Box::pin(tokio::time::sleep(RETRY_DELAY)));
                }
            }
        }
    }

    fn poll_close(&mut self, cx: &mut Context<'_>, _worker: &WorkerContext) -> Poll<Result<()>> {
        let Some(rt) = self.runtime.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        loop {
            match &mut rt.phase {
                Phase::Unregistered | Phase::Closed => return Poll::Ready(Ok(())),
                Phase::Registering(f) => match f.poll_unpin(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        rt.phase = Phase::Closed;
                        return Poll::Ready(Err(e));
                    }
                    Poll::Ready(Ok((block, id))) => {
                        rt.block_conn = Some(block);
                        rt.block_client_id = id;
                        rt.phase = Phase::Running;
                    }
                },
                Phase::Running => {
                    let fut = match self.close_future() {
                        Ok(f) => f,
                        Err(e) => return Poll::Ready(Err(e)),
                    };
                    let Some(rt) = self.runtime.as_mut() else {
                        return Poll::Ready(Ok(()));
                    };
                    rt.phase = Phase::Closing(fut);
                    return self.poll_close(cx, _worker);
                }
                Phase::Closing(f) => {
                    let r = std::task::ready!(f.poll_unpin(cx));
                    rt.phase = Phase::Closed;
                    return Poll::Ready(r);
                }
            }
        }
    }
}

impl<Args> BackendConfig for RedisQueue<Args> {
    type Args = Args;
    type Id = Ulid;
    type Kind = Durable;
    type Config = QueueConfig;
    type Layer = AckLayer;

    fn config(&self) -> &Self::Config {
        &self.inner.cfg
    }

    /// Called once by `Worker::stream()` before polling: binds this instance as a worker
    /// source and returns the ack layer feeding it.
    fn middleware(&mut self, _worker: &mut WorkerContext) -> Self::Layer {
        let (tx, rx) = mpsc::unbounded();
        self.runtime = Some(Box::new(WorkerRuntime::new(rx)));
        AckLayer::new(tx, self.inner.cfg.clone())
    }
}

impl<Args> WireFormatBackend for RedisQueue<Args> {
    type Codec = JsonCodec<Vec<u8>>;
    type Compact = Vec<u8>;

    fn codec(&self) -> &Self::Codec {
        &self.codec
    }
}

impl<Args> Sink<Task<Vec<u8>>> for RedisQueue<Args> {
    type Error = QueueError;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Task<Vec<u8>>) -> Result<()> {
        self.get_mut().sink_buffer.push(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if this.sink_fut.is_none() {
            if this.sink_buffer.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let jobs: Vec<EncodedJob> = this
                .sink_buffer
                .drain(..)
                .map(EncodedJob::from_task)
                .collect();
            this.sink_fut = Some(
                push_jobs(this.inner.clone(), this.conn.clone(), jobs)
                    .boxed()
                    .into(),
            );
        }
        let Some(f) = this.sink_fut.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let r = std::task::ready!(f.poll_unpin(cx));
        this.sink_fut = None;
        Poll::Ready(r)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.poll_flush(cx)
    }
}
