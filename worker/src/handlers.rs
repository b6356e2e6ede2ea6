//! The six queues' handlers: each binds a job type to the function applying it. The job
//! modules know nothing of apalis or of the worker's context; only this file does.

use coin_shared::{
    jobs::{CastVote, DeliverWebhook, DistributionChunk, Governance, RecordGoodwill},
    operations::Operation,
};

use crate::{
    context::JobContext,
    error::JobError,
    handler::{Delivery, Handler},
    jobs::{Applied, cast_vote, deliver_webhook, distribution_chunk, governance, operations},
};

/// `goodwill`: the action joins the next group commit; the job completes once that
/// transaction has committed.
#[derive(Debug)]
pub struct Goodwill;

impl Handler for Goodwill {
    type Job = RecordGoodwill;

    async fn handle(
        job: RecordGoodwill,
        ctx: &JobContext,
        _: Delivery,
    ) -> Result<Applied, JobError> {
        ctx.goodwill.submit(job).await
    }
}

/// `votes`: one vote per (proposal, voter).
#[derive(Debug)]
pub struct Votes;

impl Handler for Votes {
    type Job = CastVote;

    async fn handle(job: CastVote, ctx: &JobContext, _: Delivery) -> Result<Applied, JobError> {
        cast_vote::apply(&ctx.pool, &job).await
    }
}

/// `governance`: one command per job; its kind is the command's name.
#[derive(Debug)]
pub struct Governing;

impl Handler for Governing {
    type Job = Governance;

    async fn handle(job: Governance, ctx: &JobContext, _: Delivery) -> Result<Applied, JobError> {
        governance::apply(&ctx.pool, &job).await
    }
}

/// `webhooks`: one delivery attempt of one outbox row.
#[derive(Debug)]
pub struct Webhooks;

impl Handler for Webhooks {
    type Job = DeliverWebhook;

    async fn handle(
        job: DeliverWebhook,
        ctx: &JobContext,
        delivery: Delivery,
    ) -> Result<Applied, JobError> {
        deliver_webhook::run(ctx, &job, delivery.attempt).await
    }
}

/// `distribution`: one chunk of a distribution period. It takes part in cancellation: before
/// its transaction starts (its safe point) it checks whether an operator cancelled it.
#[derive(Debug)]
pub struct Distribution;

impl Handler for Distribution {
    type Job = DistributionChunk;

    async fn handle(
        job: DistributionChunk,
        ctx: &JobContext,
        delivery: Delivery,
    ) -> Result<Applied, JobError> {
        if let Some(id) = delivery.job_id {
            let cancelled = ctx
                .queue
                .cancel_requested::<DistributionChunk>(&id.to_string())
                .await
                .map_err(|e| JobError::Transient(e.into()))?;
            if cancelled {
                return Err(JobError::Cancelled(
                    "stopped before crediting its chunk".into(),
                ));
            }
        }
        distribution_chunk::apply(&ctx.pool, &job).await
    }
}

/// `operations`: operators' audit entries and bulk actions.
#[derive(Debug)]
pub struct Operations;

impl Handler for Operations {
    type Job = Operation;

    async fn handle(
        job: Operation,
        ctx: &JobContext,
        delivery: Delivery,
    ) -> Result<Applied, JobError> {
        let id = delivery
            .job_id
            .ok_or_else(|| JobError::Permanent("an operation needs a UUID job id".into()))?;
        match job {
            Operation::Audit(entry) => operations::audit(&ctx.pool, id, &entry).await,
            Operation::Bulk(bulk) => operations::bulk(&ctx.pool, &ctx.queue, id, &bulk).await,
        }
    }
}
