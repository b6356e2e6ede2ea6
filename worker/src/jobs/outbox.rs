//! The webhook outbox: an event is written in the transaction of the change it describes, one
//! row per enabled endpoint subscribed to its type, so an event exists if and only if its change
//! committed. The relay schedule moves the rows into the `webhooks` queue.

use serde_json::Value;
use sqlx::PgConnection;

/// Writes `event_type` with `data` for every subscribed endpoint. The payload follows the
/// Standard Webhooks shape `{type, timestamp, data}`.
pub async fn emit(
    conn: &mut PgConnection,
    event_type: &str,
    data: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO webhook_deliveries (endpoint_id, event_type, payload)
         SELECT e.id, $1, jsonb_build_object('type', $1::text, 'timestamp', now(), 'data', $2::jsonb)
         FROM webhook_endpoints e
         WHERE e.enabled AND $1 = ANY (e.event_types)",
        event_type,
        data
    )
    .execute(conn)
    .await?;
    Ok(())
}
