//! The worker runtime: per-worker state behind [`RedisQueue`](crate::RedisQueue)'s apalis
//! `Backend` impl, and the loop it drives from `poll_ready`/`poll_next`/`poll_close`:
//! register (heartbeat + take back a previous incarnation's in-flight list), fetch with
//! prefetch (one script call, else a blocking `BLMOVE`), heartbeat with orphan recovery,
//! batched acks, and on close the release of prefetched jobs, a last ack flush and deregistering.
//!
//! Nothing here blocks a poll: every Redis call is a boxed future kept in [`WorkerRuntime`] and
//! polled again on the next wake-up. Redis failures are retried every [`RETRY_DELAY`] until they
//! last longer than `unavailable_after`.

use std::{
    collections::VecDeque,
    pin::Pin,
    str::FromStr,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use apalis_core::{
    backend::{future::BoxSyncFuture, queue::Queue},
    task::{Task, builder::TaskBuilder, task_id::TaskId},
    worker::context::WorkerContext,
};
use futures::{FutureExt, channel::mpsc::UnboundedReceiver};
use redis::aio::ConnectionManager;
use tokio::time::Sleep;

use crate::{
    ack::{AckEvent, JobKey, Outcome},
    config::{QueueConfig, now_ms},
    error::{QueueError, Result},
    inner::{Inner, connection_manager},
    scripts::{FetchedJob, ID_CHUNK, PAUSED},
};

/// Pause after a failed Redis call before the next try.
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// How often a worker of a paused queue asks again whether it was resumed (so a pause holds,
/// and a resume takes effect, within this).
const PAUSE_POLL: Duration = Duration::from_millis(250);

/// Reply of one fetch round.
struct FetchBatch {
    /// Jobs to run.
    jobs: Vec<FetchedJob>,
    /// Jobs delivered more often than allowed (their worker died each time): recorded dead
    /// through the ack path instead of running.
    exhausted: Vec<AckEvent>,
    /// The queue is paused: nothing was claimed; ask again after [`PAUSE_POLL`].
    paused: bool,
}

impl FetchBatch {
    fn new(fetched: Vec<FetchedJob>, next_due: i64) -> Self {
        let (exhausted, jobs): (Vec<_>, Vec<_>) =
            fetched.into_iter().partition(FetchedJob::exhausted);
        let exhausted = exhausted
            .into_iter()
            .map(|j| AckEvent {
                outcome: Outcome::Dead(format!(
                    "delivered {} times, max attempts is {} (worker lost?)",
                    j.attempts, j.max
                )),
                id: Arc::from(j.id),
            })
            .collect();
        Self {
            jobs,
            exhausted,
            paused: next_due == PAUSED,
        }
    }

    fn empty() -> Self {
        Self::new(Vec::new(), -1)
    }
}

enum Phase {
    Unregistered,
    Registering(BoxSyncFuture<Result<(ConnectionManager, Option<i64>)>>),
    Running,
    Closing(BoxSyncFuture<Result<()>>),
    Closed,
}

/// An ack flush; on failure it hands its events back for a retry.
type AckFuture = BoxSyncFuture<std::result::Result<(), (QueueError, Vec<AckEvent>)>>;

/// Per-worker state; exists only on the backend instance handed to a `WorkerBuilder`.
pub(crate) struct WorkerRuntime {
    inner: Arc<Inner>,
    conn: ConnectionManager,
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
    /// A runtime of the queue `inner` (on `conn`) fed by the ack layer's channel `acks`; it
    /// registers on the first poll.
    pub(crate) fn new(
        inner: Arc<Inner>,
        conn: ConnectionManager,
        acks: UnboundedReceiver<AckEvent>,
    ) -> Self {
        Self {
            inner,
            conn,
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

    /// The worker's name (empty until the first poll).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    fn ok(&mut self) {
        self.failing_since = None;
    }

    /// Records a Redis failure; fatal once it lasted longer than `unavailable_after`.
    fn fail(&mut self, e: QueueError, what: &str) -> Result<()> {
        tracing::warn!(worker = %self.name, error = %e, "{what} failed; will retry");
        let since = *self.failing_since.get_or_insert_with(Instant::now);
        if since.elapsed() > self.inner.cfg.unavailable_after {
            return Err(QueueError::Unavailable(since.elapsed(), e.to_string()));
        }
        Ok(())
    }

    /// Drives the registration under way; once it is done the phase is `Running`. A failed
    /// registration closes the runtime: nothing was claimed yet, and the finished future is
    /// never polled again.
    fn poll_registering(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let Phase::Registering(f) = &mut self.phase else {
            return Poll::Ready(Ok(()));
        };
        match std::task::ready!(f.poll_unpin(cx)) {
            Err(e) => {
                self.phase = Phase::Closed;
                Poll::Ready(Err(e))
            }
            Ok((block, id)) => {
                self.block_conn = Some(block);
                self.block_client_id = id;
                self.phase = Phase::Running;
                Poll::Ready(Ok(()))
            }
        }
    }

    /// `Backend::poll_ready`: registers on first call, then drives heartbeats and acks.
    pub(crate) fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<()>> {
        loop {
            match &mut self.phase {
                Phase::Unregistered => {
                    self.name = worker.name().to_owned();
                    self.inflight = self.inner.keys.inflight(&self.name);
                    let fut =
                        register_future(self.inner.clone(), self.conn.clone(), self.name.clone());
                    self.phase = Phase::Registering(fut);
                }
                Phase::Registering(_) => {
                    std::task::ready!(self.poll_registering(cx))?;
                    self.hb_timer
                        .as_mut()
                        .reset(tokio::time::Instant::now() + self.inner.cfg.heartbeat_interval);
                    worker.heartbeat(cx);
                }
                Phase::Running => break,
                Phase::Closing(_) | Phase::Closed => return Poll::Ready(Ok(())),
            }
        }
        Poll::Ready(self.drive_background(cx))
    }

    /// `Backend::poll_next`: hands out buffered tasks, fetching the next batch when empty.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Task<Vec<u8>>>>> {
        loop {
            if !matches!(self.phase, Phase::Running) {
                return Poll::Pending;
            }
            if let Err(e) = self.drive_background(cx) {
                return Poll::Ready(Some(Err(e)));
            }
            if let Some(task) = self.buffer.pop_front() {
                return Poll::Ready(Some(Ok(task)));
            }
            if let Some(d) = self.fetch_delay.as_mut() {
                if d.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.fetch_delay = None;
            }
            if self.fetch.is_none() {
                match self.fetch_future() {
                    Ok(f) => self.fetch = Some(f),
                    Err(e) => return Poll::Ready(Some(Err(e))),
                }
            }
            let Some(f) = self.fetch.as_mut() else {
                continue;
            };
            match f.poll_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(batch)) => {
                    self.fetch = None;
                    self.ok();
                    if batch.paused {
                        self.fetch_delay = Some(Box::pin(tokio::time::sleep(PAUSE_POLL)));
                    }
                    // Flushed by the ack path on the next turn of this loop.
                    self.pending_acks.extend(batch.exhausted);
                    for j in batch.jobs {
                        match to_task(&self.inner.cfg, &self.name, j) {
                            Ok(t) => self.buffer.push_back(t),
                            Err(e) => {
                                tracing::error!(error = %e, "undeliverable job left in flight")
                            }
                        }
                    }
                }
                Poll::Ready(Err(e)) => {
                    self.fetch = None;
                    if let Err(fatal) = self.fail(e, "fetch") {
                        return Poll::Ready(Some(Err(fatal)));
                    }
                    self.fetch_delay = Some(Box::pin(tokio::time::sleep(RETRY_DELAY)));
                }
            }
        }
    }

    /// `Backend::poll_close`: releases prefetched jobs, flushes acks, deregisters.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        loop {
            match &mut self.phase {
                Phase::Unregistered | Phase::Closed => return Poll::Ready(Ok(())),
                Phase::Registering(_) => std::task::ready!(self.poll_registering(cx))?,
                Phase::Running => {
                    let fut = self.close_future();
                    self.phase = Phase::Closing(fut);
                }
                Phase::Closing(f) => {
                    let r = std::task::ready!(f.poll_unpin(cx));
                    self.phase = Phase::Closed;
                    return Poll::Ready(r);
                }
            }
        }
    }

    /// Drives heartbeat/orphan recovery and ack flushing; never blocks on them.
    fn drive_background(&mut self, cx: &mut Context<'_>) -> Result<()> {
        // Heartbeat (and bounded orphan recovery).
        if self.heartbeat.is_none() && self.hb_timer.as_mut().poll(cx).is_ready() {
            let inner2 = self.inner.clone();
            let mut c = self.conn.clone();
            let name = self.name.clone();
            self.heartbeat = Some(
                async move {
                    inner2
                        .scripts
                        .heartbeat(&mut c, &inner2.keys, &inner2.cfg, &name, false)
                        .await
                }
                .boxed()
                .into(),
            );
            let next = tokio::time::Instant::now() + self.inner.cfg.heartbeat_interval;
            self.hb_timer.as_mut().reset(next);
        }
        if let Some(f) = self.heartbeat.as_mut()
            && let Poll::Ready(r) = f.poll_unpin(cx)
        {
            self.heartbeat = None;
            match r {
                Ok(more) => {
                    self.ok();
                    if more {
                        self.hb_timer.as_mut().reset(tokio::time::Instant::now());
                        cx.waker().wake_by_ref();
                    }
                }
                Err(e) => {
                    self.fail(e, "heartbeat")?;
                    self.hb_timer
                        .as_mut()
                        .reset(tokio::time::Instant::now() + RETRY_DELAY);
                }
            }
        }
        self.drive_acks(cx)
    }

    /// Flushes acks, `ack_chunk` per script call, one call at a time.
    fn drive_acks(&mut self, cx: &mut Context<'_>) -> Result<()> {
        let ack_chunk = self.inner.cfg.ack_chunk;
        if let Some(d) = self.ack_delay.as_mut() {
            if d.as_mut().poll(cx).is_pending() {
                return Ok(());
            }
            self.ack_delay = None;
        }
        loop {
            if let Some(f) = self.ack.as_mut() {
                match f.poll_unpin(cx) {
                    Poll::Pending => return Ok(()),
                    Poll::Ready(Ok(())) => {
                        self.ack = None;
                        self.ok();
                    }
                    Poll::Ready(Err((e, mut events))) => {
                        self.ack = None;
                        events.append(&mut self.pending_acks);
                        self.pending_acks = events;
                        self.fail(e, "ack")?;
                        let mut d = Box::pin(tokio::time::sleep(RETRY_DELAY));
                        let _ = d.as_mut().poll(cx);
                        self.ack_delay = Some(d);
                        return Ok(());
                    }
                }
            }
            if let Some(rx) = self.acks.as_mut() {
                while self.pending_acks.len() < ack_chunk {
                    match rx.try_recv() {
                        Ok(ev) => self.pending_acks.push(ev),
                        Err(_) => break,
                    }
                }
            }
            if self.pending_acks.is_empty() {
                return Ok(());
            }
            let take = self.pending_acks.len().min(ack_chunk);
            let events: Vec<AckEvent> = self.pending_acks.drain(..take).collect();
            let inner2 = self.inner.clone();
            let mut c = self.conn.clone();
            let inflight = self.inflight.clone();
            self.ack = Some(
                async move {
                    match inner2
                        .scripts
                        .ack(&mut c, &inner2.keys, &inner2.cfg, &inflight, &events)
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

    /// One fetch round: claim up to `prefetch` ready jobs; when none, block in `BLMOVE` until a
    /// push or the next scheduled due time, then claim around the job it moved.
    fn fetch_future(&self) -> Result<BoxSyncFuture<Result<FetchBatch>>> {
        let mut block = self.block_conn.clone().ok_or(QueueError::NotBound)?;
        let (inner, mut conn) = (self.inner.clone(), self.conn.clone());
        let inflight = self.inflight.clone();
        Ok(async move {
            let cfg = &inner.cfg;
            let (jobs, next_due) = inner
                .scripts
                .fetch(&mut conn, &inner.keys, cfg, &inflight, cfg.prefetch, "")
                .await?;
            if !jobs.is_empty() || next_due == PAUSED {
                return Ok(FetchBatch::new(jobs, next_due));
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
                None => Ok(FetchBatch::empty()),
                Some(id) => {
                    let (jobs, next_due) = inner
                        .scripts
                        .fetch(&mut conn, &inner.keys, cfg, &inflight, cfg.prefetch, &id)
                        .await?;
                    Ok(FetchBatch::new(jobs, next_due))
                }
            }
        }
        .boxed()
        .into())
    }

    /// The shutdown sequence: wake a blocked fetch, release what is buffered (and what that
    /// fetch claimed), flush every ack, deregister.
    fn close_future(&mut self) -> BoxSyncFuture<Result<()>> {
        let (inner, mut conn) = (self.inner.clone(), self.conn.clone());
        let fetch = self.fetch.take();
        let ack = self.ack.take();
        let mut buffered: Vec<String> = self
            .buffer
            .drain(..)
            .filter_map(|t| t.ctx().data().get::<JobKey>().map(|k| k.0.to_string()))
            .collect();
        let mut pending = std::mem::take(&mut self.pending_acks);
        let mut rx = self.acks.take();
        let inflight = self.inflight.clone();
        let name = self.name.clone();
        let block_id = self.block_client_id;
        async move {
            let (keys, cfg) = (&inner.keys, &inner.cfg);
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
                    Ok(batch) => {
                        buffered.extend(batch.jobs.into_iter().map(|j| j.id));
                        pending.extend(batch.exhausted);
                    }
                    Err(e) => tracing::warn!(error = %e, "fetch during shutdown failed"),
                }
            }
            for chunk in buffered.chunks(ID_CHUNK) {
                let n = inner.scripts.release(&mut conn, keys, &inflight, chunk).await?;
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
            for chunk in pending.chunks(cfg.ack_chunk.max(1)) {
                inner.scripts.ack(&mut conn, keys, cfg, &inflight, chunk).await?;
            }
            let removed = inner.scripts.deregister(&mut conn, keys, &name).await?;
            if !removed {
                tracing::warn!(worker = %name, "jobs still in flight at close; left for orphan recovery");
            }
            Ok(())
        }
        .boxed()
        .into()
    }
}

/// Opens the blocking connection and heartbeats, taking back whatever a previous incarnation
/// of this worker name left in flight.
fn register_future(
    inner: Arc<Inner>,
    mut conn: ConnectionManager,
    name: String,
) -> BoxSyncFuture<Result<(ConnectionManager, Option<i64>)>> {
    async move {
        let cfg = &inner.cfg;
        let mut block =
            connection_manager(&inner.client, cfg.block_timeout + cfg.response_timeout).await?;
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
            .heartbeat(&mut conn, &inner.keys, cfg, &name, true)
            .await?
        {}
        Ok((block, block_id))
    }
    .boxed()
    .into()
}

/// The apalis task for a fetched job.
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
