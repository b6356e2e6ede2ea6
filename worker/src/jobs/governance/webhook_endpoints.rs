//! Registering an outbound webhook endpoint (the operator's `POST /v1/webhook-endpoints`), and
//! disabling or enabling one (`…/{id}/disable`, `…/{id}/enable`, or the console).

use coin_shared::{
    jobs::{RegisterWebhookEndpoint, SetWebhookEndpointStatus},
    status::EndpointStatus,
};
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

/// Moves the endpoint to the status asked for, with the reason when it is disabled; one audit
/// row. The conditional UPDATE is the endpoint's transition table (`EndpointStatus`: each
/// status may become the other): an endpoint already in that status is left as it is, and
/// nothing is audited; an unknown one fails the command for good.
pub async fn set_status(
    pool: &PgPool,
    job: &SetWebhookEndpointStatus,
) -> Result<Applied, JobError> {
    let endpoint_id = job.endpoint_id;
    let enable = job.status == EndpointStatus::Active;
    let reason = (!enable)
        .then(|| job.reason.as_deref().map(str::trim))
        .flatten();
    let claim = Claim::command(job.command_id, "WEBHOOK_ENDPOINT_STATUS_SET");
    apply_once(pool, claim, async |tx| {
        let moved = sqlx::query_scalar!(
            "UPDATE webhook_endpoints SET enabled = $2, disabled_reason = $3
             WHERE id = $1 AND enabled <> $2 RETURNING id",
            endpoint_id,
            enable,
            reason
        )
        .fetch_optional(&mut *tx)
        .await?;
        if moved.is_none() {
            let known = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $1) AS "known!""#,
                endpoint_id
            )
            .fetch_one(&mut *tx)
            .await?;
            return match known {
                true => Ok(None),
                false => Err(JobError::Permanent(format!(
                    "no webhook endpoint has the id {endpoint_id}"
                ))),
            };
        }
        let action = match job.status {
            EndpointStatus::Disabled => "WEBHOOK_ENDPOINT_DISABLED",
            EndpointStatus::Active => "WEBHOOK_ENDPOINT_ENABLED",
        };
        Ok(Some(
            Effect::audit(action, "webhook_endpoint", endpoint_id)
                .by(job.requested_by)
                .details(serde_json::json!({ "reason": reason })),
        ))
    })
    .await
}
