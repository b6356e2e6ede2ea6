//! `GET /api/governance_state`: proposal counts by status, vote total, active council size and
//! the latest proposals (public governance data; no voter or member identities).

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use coin_shared::status::ProposalStatus;
use serde_json::{Value, json};
use uuid::Uuid;

use super::node::{ApiError, NodeState, timestamp};

/// Proposals listed under `recent_proposals`.
const RECENT: i64 = 5;

/// The counts, in one round trip.
struct Counts {
    draft: i64,
    active: i64,
    closed: i64,
    rejected: i64,
    total_votes: i64,
    active_members: i64,
}

/// One of the latest proposals.
struct Recent {
    id: Uuid,
    title: String,
    status: ProposalStatus,
    created_at: DateTime<Utc>,
}

pub(super) async fn governance_state(
    State(state): State<NodeState>,
) -> Result<Json<Value>, ApiError> {
    let db = |e: sqlx::Error| ApiError::database(&e);
    let Counts {
        draft,
        active,
        closed,
        rejected,
        total_votes,
        active_members,
    } = sqlx::query_as!(
        Counts,
        r#"SELECT
                (SELECT count(*) FROM proposals WHERE status = 'DRAFT') AS "draft!",
                (SELECT count(*) FROM proposals WHERE status = 'ACTIVE') AS "active!",
                (SELECT count(*) FROM proposals WHERE status = 'CLOSED') AS "closed!",
                (SELECT count(*) FROM proposals WHERE status = 'REJECTED') AS "rejected!",
                (SELECT count(*) FROM votes) AS "total_votes!",
                (SELECT count(*) FROM council_members
                  WHERE start_date <= now() AND (end_date IS NULL OR end_date > now()))
                  AS "active_members!""#
    )
    .fetch_one(&state.pool)
    .await
    .map_err(db)?;
    let recent = sqlx::query_as!(
        Recent,
        r#"SELECT id, title, status AS "status: ProposalStatus", created_at FROM proposals
           ORDER BY created_at DESC, id DESC LIMIT $1"#,
        RECENT
    )
    .fetch_all(&state.pool)
    .await
    .map_err(db)?;
    let recent: Vec<Value> = recent
        .into_iter()
        .map(|p| {
            json!({
                "id": p.id,
                "title": p.title,
                "status": p.status,
                "created_at": timestamp(p.created_at),
            })
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
