//! One module per job type; each handler is idempotent by rule. `finish` records the metrics
//! every handler reports and turns its error into what apalis understands.

pub mod apply_once;
pub mod cast_vote;
pub mod deliver_webhook;
pub mod distribution_chunk;
pub mod goodwill_batch;
pub mod governance;
pub mod operations;
pub mod outbox;
pub mod prelude;
pub mod record_goodwill;
pub mod store;

use std::time::Instant;

use apalis_core::error::BoxDynError;
use coin_shared::validate::Validate;

use crate::error::JobError;

/// What applying a job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// First delivery: the effect was committed.
    Done,
    /// A re-delivery (or a no-op by rule): nothing changed.
    AlreadyApplied,
}

impl Applied {
    fn outcome(self) -> &'static str {
        match self {
            Applied::Done => "applied",
            Applied::AlreadyApplied => "duplicate",
        }
    }
}

/// The shared rules of a payload, the very ones the API applied before it accepted it; a
/// broken one fails the job permanently (it could never succeed), before anything is written.
pub fn check(job: &impl Validate) -> Result<(), JobError> {
    let errors = job.validate();
    if errors.is_empty() {
        Ok(())
    } else {
        let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Err(JobError::Permanent(reasons.join("; ")))
    }
}

/// Records `coin_jobs_completed_total{queue,outcome}` and `coin_job_duration_seconds{queue}`,
/// logs failures, and maps the result for apalis (permanent failures abort, others retry).
pub fn finish(
    queue: &'static str,
    started: Instant,
    result: Result<Applied, JobError>,
) -> Result<String, BoxDynError> {
    let outcome = match &result {
        Ok(applied) => applied.outcome(),
        Err(e) => e.outcome(),
    };
    metrics::counter!(coin_shared::metric_names::JOBS_COMPLETED_TOTAL, "queue" => queue, "outcome" => outcome)
        .increment(1);
    metrics::histogram!(coin_shared::metric_names::JOB_DURATION_SECONDS, "queue" => queue)
        .record(started.elapsed().as_secs_f64());
    match result {
        Ok(applied) => Ok(applied.outcome().to_owned()),
        Err(e) => {
            tracing::warn!(queue, error = %e, "job failed");
            Err(e.into_apalis())
        }
    }
}
