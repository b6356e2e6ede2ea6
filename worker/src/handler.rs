//! The one way a queue is bound to its handler: each job type is a [`Handler`] that states what
//! one delivery of it does; [`register`] builds its apalis worker, and [`run`] wraps every call
//! in the job's span (queue, kind, job id, attempt) and records its metrics through
//! [`finish`](crate::jobs::finish).

use std::{future::Future, time::Instant};

use apalis::prelude::{Monitor, WorkerBuilder, WorkerBuilderExt};
use apalis_core::{
    error::BoxDynError,
    task::{attempt::Attempt, data::Data, task_id::TaskId},
};
use coin_shared::{jobs::Job, queue::JobQueue};
use tracing::Instrument;

use crate::{
    context::JobContext,
    error::JobError,
    jobs::{Applied, finish},
};

/// Where and how a delivery runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// This delivery's number, from 1 (the queue's attempt count).
    pub attempt: usize,
    /// The job's id, when it is a UUID (every id the platform mints is).
    pub job_id: Option<uuid::Uuid>,
}

/// A queue's job, with what one delivery of it does (the job type names its queue).
pub trait Handler: Job {
    /// Applies one delivery of this job.
    fn handle(
        self,
        ctx: &JobContext,
        delivery: Delivery,
    ) -> impl Future<Output = Result<Applied, JobError>> + Send;
}

/// The apalis task function of every queue: opens the job's span, runs `H` in it, and reports
/// the outcome (metrics, the failure log line, the error apalis understands) inside it.
pub async fn run<H: Handler>(
    job: H,
    attempt: Attempt,
    id: Option<TaskId>,
    ctx: Data<JobContext>,
) -> Result<String, BoxDynError> {
    let attempt = attempt.current().max(1);
    let id = id.map(|id| id.to_string()).unwrap_or_default();
    let job_id = uuid::Uuid::parse_str(&id).ok();
    let kind = job.kind();
    observe(
        H::QUEUE,
        kind,
        &id,
        attempt,
        job.handle(&ctx, Delivery { attempt, job_id }),
    )
    .await
}

/// Runs `work` inside the span `job{queue, kind, job.id, attempt}` and reports its outcome in
/// the same span, so every line a job logs (its own, and the failure line) names the job.
async fn observe(
    queue: &'static str,
    kind: &'static str,
    id: &str,
    attempt: usize,
    work: impl Future<Output = Result<Applied, JobError>>,
) -> Result<String, BoxDynError> {
    let span = tracing::info_span!("job", queue, kind, job.id = %id, attempt);
    let started = Instant::now();
    let result = work.instrument(span.clone()).await;
    span.in_scope(|| finish(queue, started, result))
}

/// Registers `H`'s worker on `monitor`: `concurrency` jobs of its queue at once, each run by
/// [`run`], under the worker name `{worker_id}-{queue}`.
pub fn register<H: Handler>(
    monitor: Monitor,
    queue: &JobQueue,
    ctx: &JobContext,
    concurrency: usize,
) -> anyhow::Result<Monitor> {
    let backend = queue.storage::<H>()?;
    let name = format!("{}-{}", ctx.worker_id, H::QUEUE);
    let ctx = ctx.clone();
    Ok(monitor.register(move |_| {
        WorkerBuilder::new(name.clone())
            .backend(backend.clone())
            .concurrency(concurrency)
            .data(ctx.clone())
            .build(run::<H>)
    }))
}

#[cfg(test)]
mod tests {
    use std::{
        io::Write,
        sync::{Arc, Mutex},
    };

    use super::*;

    /// Collects everything the fmt layer writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    #[tokio::test]
    async fn every_line_of_a_failing_job_names_its_queue_kind_id_and_attempt() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let id = "0190a3b2-0000-7000-8000-00000000000a";
        let result = observe("governance", "create_proposal", id, 3, async {
            tracing::info!("applying");
            Err(JobError::Permanent("proposal does not exist".into()))
        })
        .await;
        assert!(result.is_err());

        let lines = captured.lines();
        assert!(
            lines.iter().any(|l| l.contains("job failed")),
            "the failure is logged: {lines:?}"
        );
        assert_eq!(lines.len(), 2, "{lines:?}");
        for line in &lines {
            for part in [
                "queue=\"governance\"",
                "kind=\"create_proposal\"",
                &format!("job.id={id}"),
                "attempt=3",
            ] {
                assert!(line.contains(part), "{part} missing in {line}");
            }
        }
    }
}
