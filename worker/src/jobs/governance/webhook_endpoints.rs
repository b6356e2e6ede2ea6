//! Registering an outbound webhook endpoint (the operator's `POST /v1/webhook-endpoints`).

use coin_shared::jobs::Governance;
use sqlx::PgPool;

use crate::{
    error::JobError,
    jobs::{Applied, store},
};

/// Stores the endpoint with the secret the API generated (URL and event types already checked
/// by the shared rules in `governance::apply`); a re-delivery finds it there.
pub async fn register(pool: &PgPool, job: &Governance) -> Result<Applied, JobError> {
    let Governance::RegisterWebhookEndpoint {
        endpoint_id,
        url,
        event_types,
        secret,
        requested_by,
    } = job
    else {
        return Err(JobError::Permanent(
            "not a RegisterWebhookEndpoint command".into(),
        ));
    };
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, event_types, secret, created_by)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(endpoint_id)
    .bind(url)
    .bind(event_types)
    .bind(secret.expose())
    .bind(requested_by)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        return Ok(Applied::AlreadyApplied);
    }
    store::audit(
        &mut tx,
        "WEBHOOK_ENDPOINT_REGISTERED",
        Some(*requested_by),
        "webhook_endpoint",
        *endpoint_id,
        serde_json::json!({ "url": url, "event_types": event_types }),
    )
    .await?;
    tx.commit().await?;
    Ok(Applied::Done)
}
