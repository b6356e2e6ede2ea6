//! Registering an outbound webhook endpoint (the operator's `POST /v1/webhook-endpoints`).

use coin_shared::jobs::RegisterWebhookEndpoint;
use sqlx::PgPool;

use crate::jobs::prelude::*;

/// Stores the endpoint with the secret the API generated (URL and event types already checked
/// by the shared rules in `governance::apply`); a re-delivery finds it there.
pub async fn register(pool: &PgPool, job: &RegisterWebhookEndpoint) -> Result<Applied, JobError> {
    apply_once(pool, Claim::Row, async |tx| {
        let insert = sqlx::query!(
            "INSERT INTO webhook_endpoints (id, url, event_types, secret, created_by)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            job.endpoint_id,
            job.url,
            &job.event_types,
            job.secret.expose(),
            job.requested_by
        );
        let details = serde_json::json!({ "url": job.url, "event_types": job.event_types });
        Ok(inserted(insert, tx).await?.then(|| {
            Effect::audit(
                "WEBHOOK_ENDPOINT_REGISTERED",
                "webhook_endpoint",
                job.endpoint_id,
            )
            .by(job.requested_by)
            .details(details)
        }))
    })
    .await
}
