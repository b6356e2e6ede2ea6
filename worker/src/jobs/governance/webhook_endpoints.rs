//! Registering an outbound webhook endpoint (the operator's `POST /v1/webhook-endpoints`).

use coin_shared::jobs::RegisterWebhookEndpoint;
use sqlx::PgPool;

use crate::{
    error::JobError,
    jobs::{
        Applied,
        apply_once::{Audit, Claim, Effect, apply_once},
    },
};

/// Stores the endpoint with the secret the API generated (URL and event types already checked
/// by the shared rules in `governance::apply`); a re-delivery finds it there.
pub async fn register(pool: &PgPool, job: &RegisterWebhookEndpoint) -> Result<Applied, JobError> {
    apply_once(pool, Claim::Row, async |tx| {
        let inserted = sqlx::query(
            "INSERT INTO webhook_endpoints (id, url, event_types, secret, created_by)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(job.endpoint_id)
        .bind(&job.url)
        .bind(&job.event_types)
        .bind(job.secret.expose())
        .bind(job.requested_by)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        Ok((inserted == 1).then(|| {
            Effect::audited(Audit {
                action: "WEBHOOK_ENDPOINT_REGISTERED",
                actor: Some(job.requested_by),
                subject_type: "webhook_endpoint",
                subject_id: job.endpoint_id,
                details: serde_json::json!({ "url": job.url, "event_types": job.event_types }),
            })
        }))
    })
    .await
}
