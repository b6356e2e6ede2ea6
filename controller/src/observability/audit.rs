//! `GET /api/audit_summary?limit=`: the latest audit events, newest first. Details are reduced to
//! an allow-list of non-personal keys: no user ids, names, descriptions or rationales.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Query, State},
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    limit::latest,
    node::{ApiError, NodeState, timestamp},
};

/// Detail keys that describe what happened without saying who did it.
const PUBLIC_DETAIL_KEYS: &[&str] = &[
    "action_type",
    "loves_value",
    "status",
    "from_status",
    "to_status",
    "transition",
    "choice",
    "role",
    "outcome",
    "proposal_id",
    "queue",
    "kind",
];

/// One audit event.
struct Row {
    id: Uuid,
    action_type: String,
    subject_type: String,
    created_at: DateTime<Utc>,
    details: Value,
}

pub(super) async fn audit_summary(
    State(state): State<NodeState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (limit, rows) = latest(&query, async |limit| {
        sqlx::query_as!(
            Row,
            "SELECT id, action_type, subject_type, created_at, details FROM audit_log
             ORDER BY created_at DESC, id DESC LIMIT $1",
            limit
        )
        .fetch_all(&state.pool)
        .await
    })
    .await?;
    let entries: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            json!({
                "id": row.id,
                "action_type": row.action_type,
                "subject_type": row.subject_type,
                "timestamp": timestamp(row.created_at),
                "details": public_details(&row.details),
            })
        })
        .collect();
    Ok(Json(json!({
        "count": entries.len(),
        "limit": limit,
        "audit_entries": entries,
        "timestamp": timestamp(Utc::now()),
    })))
}

/// Keeps only allow-listed scalar details.
fn public_details(details: &Value) -> Value {
    let kept: Map<String, Value> = details
        .as_object()
        .map(|map| {
            map.iter()
                .filter(|(key, value)| {
                    PUBLIC_DETAIL_KEYS.contains(&key.as_str())
                        && !value.is_object()
                        && !value.is_array()
                })
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use crate::observability::audit::*;

    #[test]
    fn audit_details_keep_only_public_keys() {
        let details = json!({
            "user_id": "0190e0b4-0000-7000-8000-000000000001",
            "description": "Helped my neighbour Jane",
            "action_type": "volunteering",
            "loves_value": 5,
            "choice": {"nested": true},
        });
        assert_eq!(
            public_details(&details),
            json!({"action_type": "volunteering", "loves_value": 5})
        );
    }
}
