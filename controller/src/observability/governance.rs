//! `GET /api/governance_state`: proposal counts by status, vote total, active council size and
//! the latest proposals (public governance data; no voter or member identities).

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ApiError, NodeState, timestamp};

/// Proposals listed under `recent_proposals`.
const RECENT: i64 = 5;

pub(super) async fn governance_state(
    State(state): State<NodeState>,
) -> Result<Json<Value>, ApiError> {
    let db = |e: sqlx::Error| ApiError::database(&e);
    let (draft, active, closed, rejected, total_votes, active_members): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = sqlx::query_as(
        "SELECT
                (SELECT count(*) FROM proposals WHERE status = 'DRAFT'),
                (SELECT count(*) FROM proposals WHERE status = 'ACTIVE'),
                (SELECT count(*) FROM proposals WHERE status = 'CLOSED'),
                (SELECT count(*) FROM proposals WHERE status = 'REJECTED'),
                (SELECT count(*) FROM votes),
                (SELECT count(*) FROM council_members
                  WHERE start_date <= now() AND (end_date IS NULL OR end_date > now()))",
    )
    .fetch_one(&state.pool)
    .await
    .map_err(db)?;
    let recent: Vec<(Uuid, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, title, status::text, created_at FROM proposals
         ORDER BY created_at DESC, id DESC LIMIT $1",
    )
    .bind(RECENT)
    .fetch_all(&state.pool)
    .await
    .map_err(db)?;
    let recent: Vec<Value> = recent
        .into_iter()
        .map(|(id, title, status, created_at)| {
            json!({"id": id, "title": title, "status": status, "created_at": timestamp(created_at)})
        })
        .collect();
    Ok(Json(json!({
        "proposal_summary": {
            "total": draft + active + closed + rejected,
            "by_status": {"draft": draft, "active": active, "closed": closed, "rejected": rejected},
        },
        "vote_summary": {"total_votes": total_votes},
        "council_summary": {"active_members": active_members},
        "recent_proposals": recent,
        "timestamp": timestamp(Utc::now()),
    })))
}
