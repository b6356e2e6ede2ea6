//! The live worker registry as the scalers read it before a scale-down: the jobs each worker
//! process holds (running or prefetched), with its host (`HOSTNAME`: the pod's name in
//! Kubernetes) and pid. Behind the thin [`WorkerRegistry`] seam, so tests give fixed loads.

use std::time::Duration;

use coin_shared::queue::{JobQueue, QueueError};
use futures::future::BoxFuture;

use super::error::ScaleError;

/// How long a scaler waits for the registry before it chooses without it.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// One announced worker process and the jobs it holds, all queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerLoad {
    /// The host it announced (a pod's name in Kubernetes).
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// Jobs it holds, running or prefetched.
    pub inflight: u64,
}

/// Where the scalers read what each worker is doing.
pub trait WorkerRegistry: Send + Sync {
    /// Every announced worker process with its jobs in flight.
    fn loads(&self) -> BoxFuture<'_, Result<Vec<WorkerLoad>, QueueError>>;
}

impl WorkerRegistry for JobQueue {
    fn loads(&self) -> BoxFuture<'_, Result<Vec<WorkerLoad>, QueueError>> {
        Box::pin(async move {
            Ok(self
                .workers()
                .await?
                .into_iter()
                .filter_map(|view| {
                    let inflight = view.inflight();
                    view.process.map(|p| WorkerLoad {
                        host: p.host,
                        pid: p.pid,
                        inflight,
                    })
                })
                .collect())
        })
    }
}

/// A fixed list (tests; or a setup without a registry).
impl WorkerRegistry for Vec<WorkerLoad> {
    fn loads(&self) -> BoxFuture<'_, Result<Vec<WorkerLoad>, QueueError>> {
        Box::pin(std::future::ready(Ok(self.clone())))
    }
}

/// The loads within [`READ_TIMEOUT`]; no registry reads as no loads (every worker idle).
pub async fn read(registry: Option<&dyn WorkerRegistry>) -> Result<Vec<WorkerLoad>, ScaleError> {
    let Some(registry) = registry else {
        return Ok(Vec::new());
    };
    match tokio::time::timeout(READ_TIMEOUT, registry.loads()).await {
        Ok(loads) => Ok(loads?),
        Err(_) => Err(ScaleError::RegistryTimeout(READ_TIMEOUT)),
    }
}

/// Jobs in flight of the workers whose load `matches` (summed: a host may run several); 0 for a
/// worker without an entry.
pub fn inflight(loads: &[WorkerLoad], matches: impl Fn(&WorkerLoad) -> bool) -> u64 {
    loads
        .iter()
        .filter(|l| matches(l))
        .map(|l| l.inflight)
        .sum()
}
