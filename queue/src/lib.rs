//! `coin-queue`: a project-owned apalis 1.0 [`Backend`](apalis_core::backend::Backend) for Redis.
//!
//! Design: Redis lists moved with `LMOVE`/`BLMOVE` into a per-worker in-flight list,
//! Lua scripts with bounded work per call, a scheduled ZSET for delays and retries,
//! heartbeats in a workers ZSET with orphan recovery, and a dead ZSET.
//! See [`Keys`] for the key layout and [`RedisQueue`] for the API and its delivery contract.
//! Every script gets every key it touches in `KEYS` (all keys of a queue share one hash tag).
//!
//! Modules, each depending only on those listed before it: `error`, `config` (settings, key
//! names), `encoded_job`, `attempts` (a job's failed attempts), `ack` (outcome layer),
//! `scripts` (Lua wrappers), `coalesce` (group commit of single pushes), `inner` (state shared
//! by a handle's clones), `worker` (the worker runtime), `handle` ([`RedisQueue`] itself),
//! `producer` (enqueue), `apalis_impls` (`Backend`, `BackendConfig`, `WireFormatBackend`,
//! `Sink`), [`admin`] (status, depths, dead set),
//! `operations` (pause, cancel, delete, progress), `search` (windows over one state).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use apalis::layers::WorkerBuilderExt; // .concurrency()
//! use apalis_core::{worker::builder::WorkerBuilder, monitor::Monitor};
//! use coin_queue::{QueueConfig, RedisQueue};
//! let queue: RedisQueue<u64> =
//!     RedisQueue::connect("redis://127.0.0.1:6379", QueueConfig::new("goodwill")).await?;
//! let id = queue.enqueue(&42).await?; // answer 202 with `id`
//! let q = queue.clone();
//! Monitor::new()
//!     .register(move |i| {
//!         WorkerBuilder::new(format!("pod-a-{}-{i}", std::process::id()))
//!             .backend(q.clone())
//!             .concurrency(64)
//!             .build(|n: u64| async move { Ok::<_, std::io::Error>(n * 2) })
//!     })
//!     .shutdown_timeout(std::time::Duration::from_secs(30))
//!     .run_with_signal(tokio::signal::ctrl_c())
//!     .await?;
//! # let _ = id; Ok(()) }
//! ```
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod ack;
pub mod admin;
mod apalis_impls;
mod attempts;
mod coalesce;
mod config;
mod encoded_job;
mod error;
mod handle;
mod inner;
mod operations;
mod producer;
mod scripts;
#[cfg(test)]
mod scripts_declare_keys;
mod search;
mod worker;

pub use ack::{AckLayer, AckService, Cancelled, JobKey, PermanentError, backoff};
pub use admin::{CounterSample, DeadJob, Depths, JobState, JobStatus, QueueWorker};
pub use attempts::{AttemptOutcome, FAILURES_KEPT, FailedAttempt};
pub use coalesce::PushStats;
pub use config::{DoneRetention, Keys, QueueConfig};
pub use error::{QueueError, Result};
pub use handle::RedisQueue;
pub use operations::{CancelOutcome, DeleteOutcome, PauseInfo};
pub use search::{JobRecord, MAX_WINDOW, ScanPage, ScanState};
