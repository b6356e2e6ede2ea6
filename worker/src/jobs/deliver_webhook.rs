//! `DeliverWebhook`: POSTs one outbox row to its endpoint, signed after Standard Webhooks.
//!
//! Every attempt carries the same `webhook-id` (the row's id), a fresh `webhook-timestamp` and
//! the signature over both and the body. Outcomes:
//! - 2xx: delivered.
//! - 410 Gone: the endpoint is disabled (with the reason) and the job fails permanently.
//! - 408, 5xx, timeouts, connection errors: retried after the `WEBHOOK_*` backoff (see
//!   [`crate::settings::WebhookSettings`]) until `WEBHOOK_MAX_ATTEMPTS`, then dead (replayable).
//! - 429: retried after its `Retry-After` (capped), or the backoff when it has none.
//! - any other status (other 4xx, and 1xx/3xx: redirects are not followed): permanent.
//!
//! Each attempt is recorded on the row (attempts, last status code, last error).

use std::time::Duration;

use chrono::{DateTime, Utc};
use coin_shared::{
    jobs::DeliverWebhook,
    metric_names::WEBHOOK_DELIVERIES_TOTAL,
    status::DeliveryStatus,
    webhook_target,
    webhooks::{self, WebhookSecret},
};
use reqwest::{StatusCode, header};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Applied, store};
use crate::{context::JobContext, error::JobError, settings::WebhookSettings};

/// How one attempt ended, before the retry budget is applied.
#[derive(Debug)]
enum Failure {
    /// Never worth retrying.
    Permanent(String),
    /// Worth retrying, after `after` if the receiver said so.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// The database failed: the queue's own retry applies.
    Database(JobError),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Database(e.into())
    }
}

/// Makes delivery attempt `attempt` (≥ 1) and applies the retry budget: a retryable failure
/// states its own delay (the receiver's capped `Retry-After`, or the `WEBHOOK_*` backoff) until
/// `WEBHOOK_MAX_ATTEMPTS`, then fails permanently.
pub async fn run(
    ctx: &JobContext,
    job: &DeliverWebhook,
    attempt: usize,
) -> Result<Applied, JobError> {
    let settings = &ctx.webhooks;
    match deliver(ctx, job).await {
        Ok(applied) => Ok(applied),
        Err(Failure::Permanent(reason)) => {
            metrics::counter!(WEBHOOK_DELIVERIES_TOTAL, "outcome" => "failed").increment(1);
            Err(JobError::Permanent(reason))
        }
        Err(Failure::Database(e)) => Err(e),
        Err(Failure::Retry { reason, after }) => {
            if attempt >= settings.webhook_max_attempts as usize {
                let reason = format!("{reason} (gave up after {attempt} attempts)");
                mark_failed(&ctx.pool, job.delivery_id, &reason).await.ok();
                metrics::counter!(WEBHOOK_DELIVERIES_TOTAL, "outcome" => "failed").increment(1);
                return Err(JobError::Permanent(reason));
            }
            let delay = after
                .map(|d| d.min(Duration::from_secs(settings.webhook_backoff_max_secs)))
                .unwrap_or_else(|| retry_delay(settings, attempt));
            metrics::counter!(WEBHOOK_DELIVERIES_TOTAL, "outcome" => "retried").increment(1);
            tracing::info!(delivery.id = %job.delivery_id, attempt, retry_in_ms = delay.as_millis() as u64,
                %reason, "webhook delivery failed; will retry");
            Err(JobError::RetryAfter(delay, reason))
        }
    }
}

/// Retry delay after failed attempt `attempt` (≥ 1): `min(base · 2^(attempt-1), max)`, half
/// fixed and half random.
pub fn retry_delay(settings: &WebhookSettings, attempt: usize) -> Duration {
    let exp = attempt.saturating_sub(1).min(20) as u32;
    let raw = Duration::from_millis(settings.webhook_backoff_base_ms).saturating_mul(1u32 << exp);
    let capped = raw.min(Duration::from_secs(settings.webhook_backoff_max_secs));
    let half = capped / 2;
    half + half.mul_f64(rand::random::<f64>())
}

/// A `Retry-After` value: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// A delivery row with its endpoint.
#[derive(Debug)]
struct Pending {
    status: DeliveryStatus,
    payload: serde_json::Value,
    endpoint_id: Uuid,
    url: String,
    secret: String,
    enabled: bool,
}

async fn deliver(ctx: &JobContext, job: &DeliverWebhook) -> Result<Applied, Failure> {
    let row = sqlx::query_as!(
        Pending,
        r#"SELECT d.status AS "status: DeliveryStatus", d.payload, e.id AS endpoint_id, e.url,
                  e.secret, e.enabled
           FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
           WHERE d.id = $1"#,
        job.delivery_id
    )
    .fetch_optional(&ctx.pool)
    .await?;
    let Some(Pending {
        status,
        payload,
        endpoint_id,
        url,
        secret,
        enabled,
    }) = row
    else {
        return Err(Failure::Permanent(format!(
            "webhook delivery {} does not exist",
            job.delivery_id
        )));
    };
    if status == DeliveryStatus::Delivered {
        return Ok(Applied::AlreadyApplied);
    }
    if !enabled {
        sqlx::query!(
            "UPDATE webhook_deliveries SET status = 'SKIPPED', last_error = 'endpoint disabled'
             WHERE id = $1",
            job.delivery_id
        )
        .execute(&ctx.pool)
        .await?;
        metrics::counter!(WEBHOOK_DELIVERIES_TOTAL, "outcome" => "skipped").increment(1);
        return Ok(Applied::AlreadyApplied);
    }
    if !ctx.webhooks.webhook_allow_private
        && let Some(why) = webhook_target::refusal(&url)
    {
        // Registered before the check existed, or with it off: never delivered inside.
        let reason = format!("{url} {why}: webhooks are not delivered inside");
        record_attempt(&ctx.pool, job.delivery_id, None, Some(&reason), false).await?;
        mark_failed(&ctx.pool, job.delivery_id, &reason).await?;
        return Err(Failure::Permanent(reason));
    }
    let body = serde_json::to_vec(&payload)
        .map_err(|e| Failure::Permanent(format!("could not encode the payload: {e}")))?;
    let id = webhooks::message_id(job.delivery_id);
    let timestamp = Utc::now().timestamp();
    let signature = webhooks::sign(&WebhookSecret::new(secret), &id, timestamp, &body)
        .map_err(|e| Failure::Permanent(e.to_string()))?;
    let sent = ctx
        .http
        .post(&url)
        .header(header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) => {
            let reason = if e.is_timeout() {
                format!("POST {url} timed out")
            } else {
                format!("POST {url} failed: {}", causes(&e))
            };
            record_attempt(&ctx.pool, job.delivery_id, None, Some(&reason), false).await?;
            return Err(Failure::Retry {
                reason,
                after: None,
            });
        }
    };
    let code = response.status();
    if code.is_success() {
        record_attempt(&ctx.pool, job.delivery_id, Some(code), None, true).await?;
        metrics::counter!(WEBHOOK_DELIVERIES_TOTAL, "outcome" => "delivered").increment(1);
        return Ok(Applied::Done);
    }
    let reason = format!("POST {url} answered {code}");
    record_attempt(&ctx.pool, job.delivery_id, Some(code), Some(&reason), false).await?;
    match code {
        StatusCode::GONE => {
            disable_endpoint(&ctx.pool, endpoint_id, job.delivery_id, &reason).await?;
            Err(Failure::Permanent(format!(
                "{reason}: endpoint {endpoint_id} disabled"
            )))
        }
        StatusCode::TOO_MANY_REQUESTS => Err(Failure::Retry {
            after: response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, Utc::now())),
            reason,
        }),
        StatusCode::REQUEST_TIMEOUT => Err(Failure::Retry {
            reason,
            after: None,
        }),
        c if c.is_server_error() => Err(Failure::Retry {
            reason,
            after: None,
        }),
        _ => {
            mark_failed(&ctx.pool, job.delivery_id, &reason).await?;
            Err(Failure::Permanent(reason))
        }
    }
}

async fn record_attempt(
    pool: &PgPool,
    delivery_id: Uuid,
    code: Option<StatusCode>,
    error: Option<&str>,
    delivered: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE webhook_deliveries
         SET attempts = attempts + 1, last_status_code = $2, last_error = $3,
             status = CASE WHEN $4 THEN 'DELIVERED'::webhook_delivery_status ELSE status END,
             delivered_at = CASE WHEN $4 THEN now() ELSE delivered_at END
         WHERE id = $1",
        delivery_id,
        code.map(|c| i32::from(c.as_u16())),
        error,
        delivered
    )
    .execute(pool)
    .await?;
    Ok(())
}

async fn mark_failed(pool: &PgPool, delivery_id: Uuid, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE webhook_deliveries SET status = 'FAILED', last_error = $2 WHERE id = $1",
        delivery_id,
        reason
    )
    .execute(pool)
    .await?;
    Ok(())
}

async fn disable_endpoint(
    pool: &PgPool,
    endpoint_id: Uuid,
    delivery_id: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let disabled = sqlx::query!(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2
         WHERE id = $1 AND enabled",
        endpoint_id,
        reason
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!(
        "UPDATE webhook_deliveries SET status = 'FAILED' WHERE id = $1",
        delivery_id
    )
    .execute(&mut *tx)
    .await?;
    if disabled > 0 {
        store::audit(
            &mut tx,
            "WEBHOOK_ENDPOINT_DISABLED",
            None,
            "webhook_endpoint",
            endpoint_id,
            serde_json::json!({ "reason": reason, "delivery_id": delivery_id }),
        )
        .await?;
        tracing::warn!(endpoint.id = %endpoint_id, %reason, "webhook endpoint disabled");
    }
    tx.commit().await
}

/// `e` and its causes, outermost first (a refused address is only named deep in the chain).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_delay_doubles_with_jitter_and_is_capped() {
        let settings = WebhookSettings {
            webhook_backoff_base_ms: 1_000,
            webhook_backoff_max_secs: 10,
            ..WebhookSettings::default()
        };
        for (attempt, full) in [
            (1, 1_000),
            (2, 2_000),
            (3, 4_000),
            (4, 8_000),
            (5, 10_000),
            (30, 10_000),
        ] {
            let d = retry_delay(&settings, attempt).as_millis() as u64;
            assert!((full / 2..=full).contains(&d), "attempt {attempt}: {d} ms");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .expect("date")
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
