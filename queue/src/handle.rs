//! The queue handle, [`RedisQueue`]: its constructors and access to its configuration.
//!
//! What a handle does lives in the modules above it: producing in `producer.rs`, consuming in
//! `worker.rs` (driven through the apalis traits in `apalis_impls.rs`), and inspection in
//! `admin.rs`. This module only depends downwards (`inner`, `worker`'s state type, `config`).

use std::{marker::PhantomData, sync::Arc};

use apalis_codec::json::JsonCodec;
use apalis_core::{backend::future::BoxSyncFuture, task::Task};
use redis::{Client, aio::ConnectionManager};

use crate::{
    coalesce::PushStats,
    config::{Keys, QueueConfig},
    error::Result,
    inner::{Inner, connection_manager},
    worker::WorkerRuntime,
};

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
///
/// # Delivery contract
///
/// * **At least once.** A job is delivered until an outcome is recorded for it; it may be
///   delivered more than once (a worker that dies, or loses Redis for longer than
///   `orphan_after`, after claiming a job). Handlers must be idempotent, e.g. keyed on the job
///   id, which stays the same across deliveries.
/// * **Ack after the effect.** The outcome is recorded by the ack layer apalis places outside
///   every user layer, only once the handler's future has returned, so a handler must commit its
///   effect (database transaction, outbound call) *before* returning `Ok`. A handler that returns
///   `Ok` before its effect is durable can lose that effect without the job running again.
///   Acks are batched (up to `ack_chunk` per script call) and flushed on shutdown.
/// * **Every delivery counts as an attempt**, counted when the job is claimed (not when the
///   handler fails), so a job that kills its process each time ends dead after
///   `max_attempts` deliveries instead of looping.
/// * **Orphan recovery.** Each worker heartbeats every `heartbeat_interval` into the workers
///   set ([`QueueConfig::liveness`]`(heartbeat, orphan_after)`). A worker whose last heartbeat
///   is older than `orphan_after` is presumed dead: the next heartbeat of any live worker on the
///   queue moves the dead worker's in-flight list back to the head of the ready list (at most
///   `recover_chunk` jobs per heartbeat, more on the following ones) and then forgets the worker.
///   So a dead worker's jobs run again `orphan_after` to `orphan_after + heartbeat_interval`
///   after its last heartbeat, provided some worker of the queue is alive. A restarted worker
///   with the same name also takes back what its previous incarnation left in flight. A failure
///   reported late by a worker presumed dead, for a job recovered meanwhile, is ignored (the
///   job's new owner decides); a late success is still recorded, since its effect happened.
/// * **Prefetch is released on shutdown.** A worker claims up to `prefetch` jobs per round trip
///   and holds those its concurrency cannot start yet; on a graceful shutdown they go back to the
///   head of the ready list with their delivery undone. A worker that dies holds them until
///   orphan recovery, like the jobs it was running.
/// * **Pushing a known id adds nothing.** Pushing under an id the queue already knows is a
///   no-op that still answers `Ok`, so producers may retry a push. An id is known while its
///   payload is held (waiting, scheduled, retrying, in flight, or dead: until it is replayed
///   and succeeds, or the queue is purged) and, once it succeeded, for as long as its meta is
///   kept: [`DoneRetention::KeepMeta`](crate::DoneRetention::KeepMeta) (default 1 h),
///   [`KeepMetaForever`](crate::DoneRetention::KeepMetaForever), or not at all with
///   [`Drop`](crate::DoneRetention::Drop) (then the id may be pushed and run again).
/// * **Ordering**: none beyond the ready list being FIFO. Jobs pushed to run now are claimed in
///   push order, but concurrency, prefetch across workers, retries, delays, released prefetch
///   and recovered orphans (both go back to the *head*) all reorder completions.
pub struct RedisQueue<Args> {
    pub(crate) inner: Arc<Inner>,
    pub(crate) conn: ConnectionManager,
    /// JSON codec handed to apalis (`WireFormatBackend`).
    pub(crate) codec: JsonCodec<Vec<u8>>,
    /// Tasks given to the `Sink`, written on flush.
    pub(crate) sink_buffer: Vec<Task<Vec<u8>>>,
    /// The `Sink` flush in progress.
    pub(crate) sink_fut: Option<BoxSyncFuture<Result<()>>>,
    /// Worker state; only on the instance a `WorkerBuilder` bound (`BackendConfig::middleware`).
    pub(crate) runtime: Option<Box<WorkerRuntime>>,
    _args: PhantomData<fn() -> Args>,
}

impl<Args> std::fmt::Debug for RedisQueue<Args> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("queue", &self.inner.cfg.queue)
            .field("namespace", &self.inner.cfg.namespace)
            .field(
                "worker",
                &self.runtime.as_ref().map(|r| r.name().to_owned()),
            )
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
        let conn = connection_manager(&client, cfg.response_timeout).await?;
        Ok(Self::with_connection(client, conn, cfg))
    }

    /// Builds a handle on an existing connection without touching Redis, so a process can start
    /// while Redis is down (a lazy `ConnectionManager` connects on first use).
    pub fn with_connection(client: Client, conn: ConnectionManager, cfg: QueueConfig) -> Self {
        Self::from_parts(Arc::new(Inner::new(client, cfg)), conn)
    }

    /// The same queue (config, connection, scripts) with another argument type.
    pub fn typed<T>(&self) -> RedisQueue<T> {
        RedisQueue::from_parts(self.inner.clone(), self.conn.clone())
    }

    fn from_parts(inner: Arc<Inner>, conn: ConnectionManager) -> Self {
        Self {
            inner,
            conn,
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
    pub fn push_stats(&self) -> PushStats {
        self.inner.coalescer.stats()
    }

    /// The queue's Redis keys.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }
}
