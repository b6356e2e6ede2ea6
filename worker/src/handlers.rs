//! The six queues' handlers: each job type states what one delivery of it does. The job
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

/// `goodwill`: the action joins the next group commit (after its token, when
/// `GOODWILL_MAX_JOBS_PER_SEC` is set); the job completes once that transaction has committed.
impl Handler for RecordGoodwill {
    async fn handle(self, ctx: &JobContext, _: Delivery) -> Result<Applied, JobError> {
        ctx.goodwill_limit.acquire().await;
        ctx.goodwill.submit(self).await
    }
}

/// `votes`: one vote per (proposal, voter).
impl Handler for CastVote {
    async fn handle(self, ctx: &JobContext, _: Delivery) -> Result<Applied, JobError> {
        cast_vote::apply(&ctx.pool, &self).await
    }
}

/// `governance`: one command per job; its kind is the command's name.
impl Handler for Governance {
    async fn handle(self, ctx: &JobContext, _: Delivery) -> Result<Applied, JobError> {
        governance::apply(&ctx.pool, &self).await
    }
}

/// `webhooks`: one delivery attempt of one outbox row.
impl Handler for DeliverWebhook {
    async fn handle(self, ctx: &JobContext, delivery: Delivery) -> Result<Applied, JobError> {
        deliver_webhook::run(ctx, &self, delivery.attempt).await
    }
}

/// `distribution`: one chunk of a distribution period. It takes part in cancellation: before
/// its transaction starts (its safe point) it checks whether an operator cancelled it.
impl Handler for DistributionChunk {
    async fn handle(self, ctx: &JobContext, delivery: Delivery) -> Result<Applied, JobError> {
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
        distribution_chunk::apply(&ctx.pool, &self).await
    }
}

/// `operations`: operators' audit entries and bulk actions.
impl Handler for Operation {
    async fn handle(self, ctx: &JobContext, delivery: Delivery) -> Result<Applied, JobError> {
        let id = delivery
            .job_id
            .ok_or_else(|| JobError::Permanent("an operation needs a UUID job id".into()))?;
        match self {
            Operation::Audit(entry) => operations::audit(&ctx.pool, id, &entry).await,
            Operation::Bulk(bulk) => operations::bulk(&ctx.pool, &ctx.queue, id, &bulk).await,
        }
    }
}
