//! Group commit for producers: single pushes to one queue that arrive while an earlier push is
//! on its way to Redis ride together in the next script call.
//!
//! A producer hands its job to the queue's coalescing task and waits for the answer of the
//! script call that carried it, so "pushed" still means "in Redis" (an API answers `202` only
//! after that). The task takes whatever is waiting, up to [`ID_CHUNK`] jobs, the moment the
//! previous call returns: alone, a push goes out at once (no timer, no added latency); under
//! load, one `EVALSHA` carries many jobs, which saves Redis and the producer a command, a
//! syscall pair and a script run per job. Ids the queue already knows are skipped inside the
//! script, so a job retried after a lost answer is never queued twice.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};

use crate::{
    config::Keys,
    encoded_job::EncodedJob,
    error::{QueueError, Result},
    scripts::{ID_CHUNK, Scripts},
};

/// Jobs waiting for the coalescing task before producers wait for room.
const WAITING_LIMIT: usize = 8 * ID_CHUNK;

/// One producer's job and where its answer goes.
struct Pending {
    job: EncodedJob,
    answer: oneshot::Sender<Result<()>>,
}

/// The producer side of one queue's coalescing task, started on first use.
///
/// The task ends once every sender is gone, i.e. when the queue handle (which owns this) is
/// dropped: it holds only [`PushPath`], never the handle.
#[derive(Debug)]
pub(crate) struct Coalescer {
    sender: Mutex<Option<mpsc::Sender<Pending>>>,
    path: Arc<PushPath>,
}

/// What the coalescing task needs to push: the script, the keys and its counters.
#[derive(Debug)]
struct PushPath {
    scripts: Arc<Scripts>,
    keys: Keys,
    calls: AtomicU64,
    jobs: AtomicU64,
}

impl PushPath {
    async fn push(&self, conn: &mut ConnectionManager, jobs: &[EncodedJob]) -> Result<u64> {
        self.scripts.push(conn, &self.keys, jobs).await
    }
}

/// What a queue handle's single pushes cost in Redis so far: `jobs / calls` is the mean number
/// of jobs one script call carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushStats {
    /// Script calls made for single pushes.
    pub calls: u64,
    /// Jobs those calls carried.
    pub jobs: u64,
}

impl Coalescer {
    pub(crate) fn new(scripts: Arc<Scripts>, keys: Keys) -> Self {
        Self {
            sender: Mutex::new(None),
            path: Arc::new(PushPath {
                scripts,
                keys,
                calls: AtomicU64::new(0),
                jobs: AtomicU64::new(0),
            }),
        }
    }

    /// Pushes `job` in the next script call of the queue's coalescing task and returns that
    /// call's outcome. When the task cannot take it (its runtime has shut down), the job is
    /// pushed on its own.
    pub(crate) async fn push(&self, conn: &ConnectionManager, job: EncodedJob) -> Result<()> {
        let sender = self.sender(conn);
        let (answer, answered) = oneshot::channel();
        let pending = Pending { job, answer };
        let job = match sender.send(pending).await {
            Ok(()) => match answered.await {
                Ok(result) => return result,
                // The task was dropped with the job in hand (its runtime shut down): the job
                // may or may not be in Redis. The caller hears so and may push again under
                // the same id (ids are deduplicated).
                Err(_) => None,
            },
            Err(mpsc::error::SendError(pending)) => Some(pending.job),
        };
        self.forget(&sender);
        match job {
            Some(job) => {
                let mut conn = conn.clone();
                self.path
                    .push(&mut conn, std::slice::from_ref(&job))
                    .await
                    .map(drop)
            }
            None => Err(QueueError::Protocol {
                script: "push",
                detail: "the coalescing task stopped before answering; push again".into(),
            }),
        }
    }

    pub(crate) fn stats(&self) -> PushStats {
        PushStats {
            calls: self.path.calls.load(Ordering::Relaxed),
            jobs: self.path.jobs.load(Ordering::Relaxed),
        }
    }

    fn sender(&self, conn: &ConnectionManager) -> mpsc::Sender<Pending> {
        let mut slot = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = slot.as_ref().filter(|s| !s.is_closed()) {
            return sender.clone();
        }
        let (sender, receiver) = mpsc::channel(WAITING_LIMIT);
        tokio::spawn(run(self.path.clone(), conn.clone(), receiver));
        *slot = Some(sender.clone());
        sender
    }

    /// Drops `sender` from the slot if it is still the current one, so the next push starts a
    /// new task.
    fn forget(&self, sender: &mpsc::Sender<Pending>) {
        let mut slot = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|s| s.same_channel(sender)) {
            *slot = None;
        }
    }
}

/// The coalescing task: one script call at a time, each carrying everything that waited.
/// It ends when the queue handle is gone (every sender dropped).
async fn run(
    path: Arc<PushPath>,
    mut conn: ConnectionManager,
    mut receiver: mpsc::Receiver<Pending>,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(ID_CHUNK);
    let mut jobs: Vec<EncodedJob> = Vec::with_capacity(ID_CHUNK);
    while receiver.recv_many(&mut batch, ID_CHUNK).await > 0 {
        jobs.extend(batch.iter_mut().map(|p| std::mem::take(&mut p.job)));
        let outcome = path.push(&mut conn, &jobs).await;
        path.calls.fetch_add(1, Ordering::Relaxed);
        path.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        jobs.clear();
        for pending in batch.drain(..) {
            // A producer that stopped waiting (its request was cancelled) needs no answer.
            let _ = pending.answer.send(share(&outcome));
        }
    }
}

/// The outcome of a shared script call, for each job it carried.
fn share(outcome: &Result<u64>) -> Result<()> {
    match outcome {
        Ok(_) => Ok(()),
        Err(QueueError::Redis(e)) => Err(QueueError::Redis(e.clone())),
        Err(other) => Err(QueueError::Protocol {
            script: "push",
            detail: other.to_string(),
        }),
    }
}
