//! `GET /api/controller_decisions?limit=`: the latest `controller_actions` rows, newest first.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Query, State},
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{
    limit::latest,
    node::{ApiError, NodeState, timestamp},
};

/// One recorded decision.
struct Row {
    id: i64,
    timestamp: DateTime<Utc>,
    recommendations: Value,
    actions_taken: Value,
    reason: String,
    current_replicas: Option<i32>,
    desired_replicas: Option<i32>,
    scaler: String,
    dry_run: bool,
}

pub(super) async fn controller_decisions(
    State(state): State<NodeState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (limit, rows) = latest(&query, async |limit| {
        sqlx::query_as!(
            Row,
            r#"SELECT id, "timestamp", recommendations, actions_taken, reason,
                      current_replicas, desired_replicas, scaler, dry_run
               FROM controller_actions ORDER BY "timestamp" DESC, id DESC LIMIT $1"#,
            limit
        )
        .fetch_all(&state.pool)
        .await
    })
    .await?;
    let decisions: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            json!({
                "id": row.id,
                "timestamp": timestamp(row.timestamp),
                "recommendations": row.recommendations,
                "actions_taken": row.actions_taken,
                "reason": row.reason,
                "current_replicas": row.current_replicas,
                "desired_replicas": row.desired_replicas,
                "scaler": row.scaler,
                "dry_run": row.dry_run,
            })
        })
        .collect();
    Ok(Json(json!({
        "count": decisions.len(),
        "limit": limit,
        "decisions": decisions,
        "timestamp": timestamp(Utc::now()),
    })))
}
