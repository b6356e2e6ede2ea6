//! `GET /api/audit_summary?limit=`: the latest audit events, newest first. Details are reduced to
//! an allow-list of non-personal keys: no user ids, names, descriptions or rationales.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{limit::Listed, node::timestamp};

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
pub(super) struct Row {
    id: Uuid,
    action_type: String,
    subject_type: String,
    created_at: DateTime<Utc>,
    details: Value,
}

impl Listed for Row {
    const KEY: &'static str = "audit_entries";

    async fn newest(
        pool: &PgPool,
        limit: i64,
        _query: &HashMap<String, String>,
    ) -> Result<Vec<Self>, sqlx::Error> {
        sqlx::query_as!(
            Row,
            "SELECT id, action_type, subject_type, created_at, details FROM audit_log
             ORDER BY created_at DESC, id DESC LIMIT $1",
            limit
        )
        .fetch_all(pool)
        .await
    }

    fn view(self) -> Value {
        json!({
            "id": self.id,
            "action_type": self.action_type,
            "subject_type": self.subject_type,
            "timestamp": timestamp(self.created_at),
            "details": public_details(&self.details),
        })
    }
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
