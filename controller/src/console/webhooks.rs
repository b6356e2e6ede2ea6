//! `/webhooks`: every outbound endpoint with its deliveries by status and why it is disabled,
//! the latest failed attempts, and disable (with a reason) / enable. A change is the same
//! governance command the API's `POST /v1/webhook-endpoints/{id}/disable|enable` enqueues
//! (`SetWebhookEndpointStatus`): the worker applies it once and writes its audit row.

use axum::{
    extract::{Path, State},
    response::Redirect,
};
use chrono::{DateTime, Utc};
use coin_shared::{
    jobs::{Governance, SetWebhookEndpointStatus},
    status::EndpointStatus,
    validate::Validate,
};
use maud::html;
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    auth::{Confirmed, Operator},
    error::{ConsoleError, PageResult},
    layout,
    state::ConsoleState,
};

/// Failed attempts the page lists.
const FAILURES: i64 = 20;

/// An endpoint with its deliveries counted by status.
#[derive(Debug)]
struct EndpointRow {
    id: Uuid,
    url: String,
    event_types: Vec<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
    delivered: i64,
    pending: i64,
    failed: i64,
}

/// One failed or failing attempt.
#[derive(Debug)]
struct FailureRow {
    url: String,
    event_type: String,
    status: String,
    attempts: i32,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
}

async fn endpoints(pool: &PgPool) -> Result<Vec<EndpointRow>, sqlx::Error> {
    sqlx::query_as!(
        EndpointRow,
        r#"SELECT e.id, e.url, e.event_types, e.enabled, e.disabled_reason, e.created_at,
                  count(d.id) FILTER (WHERE d.status = 'DELIVERED') AS "delivered!",
                  count(d.id) FILTER (WHERE d.status IN ('PENDING', 'ENQUEUED')) AS "pending!",
                  count(d.id) FILTER (WHERE d.status = 'FAILED') AS "failed!"
           FROM webhook_endpoints e LEFT JOIN webhook_deliveries d ON d.endpoint_id = e.id
           GROUP BY e.id ORDER BY e.created_at DESC"#
    )
    .fetch_all(pool)
    .await
}

async fn failures(pool: &PgPool) -> Result<Vec<FailureRow>, sqlx::Error> {
    sqlx::query_as!(
        FailureRow,
        r#"SELECT e.url, d.event_type, d.status::text AS "status!", d.attempts, d.last_status_code,
                  d.last_error, d.created_at
           FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
           WHERE d.last_error IS NOT NULL OR d.status = 'FAILED'
           ORDER BY d.created_at DESC LIMIT $1"#,
        FAILURES
    )
    .fetch_all(pool)
    .await
}

/// `GET /webhooks`.
pub async fn page(State(state): State<ConsoleState>, operator: Operator) -> PageResult {
    let endpoints = endpoints(&state.pool).await?;
    let failures = failures(&state.pool).await?;
    let body = html! {
        h1 { "Webhooks" }
        @if endpoints.is_empty() { p.muted { "No endpoint is registered (POST /v1/webhook-endpoints)." } }
        @else {
            table.webhooks {
                (layout::head(&["Endpoint", "Events", "#Delivered", "#Waiting", "#Failed", "State", "Action"]))
                tbody { @for e in &endpoints { tr id={"endpoint-" (e.id)} {
                    th scope="row" { code { (e.url) } div.muted { "since " (layout::time(Some(e.created_at))) } }
                    td { (e.event_types.join(", ")) }
                    td.num { (e.delivered) }
                    td.num { (e.pending) }
                    td.num { (e.failed) }
                    td { @if e.enabled { "enabled" } @else {
                        span.paused { "disabled" }
                        @if let Some(reason) = &e.disabled_reason { div.muted { (reason) } }
                    } }
                    td {
                        @if e.enabled {
                            form.inline method="post" action={"/webhooks/" (e.id) "/disable"} {
                                (operator.csrf_field())
                                label for={"reason-" (e.id)} { "Reason" }
                                input id={"reason-" (e.id)} name="reason" maxlength="500" required;
                                button type="submit" { "Disable" }
                            }
                        } @else {
                            form.inline method="post" action={"/webhooks/" (e.id) "/enable"} {
                                (operator.csrf_field())
                                button type="submit" { "Enable" }
                            }
                        }
                    }
                } } }
            }
        }
        h2 { "Latest failed attempts" }
        @if failures.is_empty() { p.muted { "None." } }
        @else {
            table.failures {
                (layout::head(&["When", "Endpoint", "Event", "State", "#Attempts", "#Status", "Error"]))
                tbody { @for f in &failures { tr {
                    td { (layout::time(Some(f.created_at))) }
                    td { code { (f.url) } }
                    td { (f.event_type) }
                    td { (f.status) }
                    td.num { (f.attempts) }
                    td.num { (f.last_status_code.map_or_else(|| "–".to_owned(), |c| c.to_string())) }
                    td { (f.last_error.as_deref().unwrap_or("–")) }
                } } }
            }
        }
    };
    Ok(operator.page(&state, "Webhooks", body))
}

/// The disable form's field.
#[derive(Debug, Default, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /webhooks/{id}/disable` (a reason is required) and `POST /webhooks/{id}/enable`:
/// enqueues the governance command; any other verb is a page that does not exist.
pub async fn set_status(
    State(state): State<ConsoleState>,
    Path((raw, verb)): Path<(String, String)>,
    Confirmed(operator, form): Confirmed<StatusForm>,
) -> Result<Redirect, ConsoleError> {
    let endpoint_id = Uuid::parse_str(raw.trim())
        .map_err(|_| ConsoleError::BadInput(format!("{raw:?} is not an endpoint id (a UUID)")))?;
    let (status, reason) = match verb.as_str() {
        "disable" => {
            let reason = form
                .reason
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty());
            let reason = reason
                .ok_or_else(|| ConsoleError::BadInput("say why the endpoint is disabled".into()))?;
            (EndpointStatus::Disabled, Some(reason))
        }
        "enable" => (EndpointStatus::Active, None),
        _ => return Err(ConsoleError::NotFound("there is no such page".into())),
    };
    let command = SetWebhookEndpointStatus {
        command_id: Uuid::now_v7(),
        endpoint_id,
        status,
        reason,
        requested_by: operator.session.user_id,
    };
    if let Some(error) = command.validate().first() {
        return Err(ConsoleError::BadInput(format!(
            "{}: {}",
            error.field, error.message
        )));
    }
    state
        .queue
        .enqueue(&Governance::SetWebhookEndpointStatus(command))
        .await?;
    let done = match status {
        EndpointStatus::Disabled => "Disable queued: the endpoint gets no new deliveries.",
        EndpointStatus::Active => "Enable queued: new events will be delivered again.",
    };
    state
        .sessions
        .set_flash(&operator.session_id, done.to_owned());
    Ok(Redirect::to("/webhooks"))
}
