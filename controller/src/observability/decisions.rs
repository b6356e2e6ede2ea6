//! `GET /api/controller_decisions?limit=`: the latest `controller_actions` rows, newest first.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Query, State},
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{ApiError, NodeState, limit, timestamp};

type Row = (
    i64,
    DateTime<Utc>,
    Value,
    Value,
    String,
    Option<i32>,
    Option<i32>,
    String,
    bool,
);

pub(super) async fn controller_decisions(
    State(state): State<NodeState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = limit::parse(&query)?;
    let rows: Vec<Row> = sqlx::query_as(
        r#"SELECT id, "timestamp", recommendations, actions_taken, reason,
                  current_replicas, desired_replicas, scaler, dry_run
           FROM controller_actions ORDER BY "timestamp" DESC, id DESC LIMIT $1"#,
    )
    .bind(limit)
    .fetch_all(&state.pool)
    .await
    .map_err(|e| ApiError::database(&e))?;
    let decisions: Vec<Value> = rows
        .into_iter()
        .map(
            |(
                id,
                at,
                recommendations,
                actions_taken,
                reason,
                current,
                desired,
                scaler,
                dry_run,
            )| {
                json!({
                    "id": id,
                    "timestamp": timestamp(at),
                    "recommendations": recommendations,
                    "actions_taken": actions_taken,
                    "reason": reason,
                    "current_replicas": current,
                    "desired_replicas": desired,
                    "scaler": scaler,
                    "dry_run": dry_run,
                })
            },
        )
        .collect();
    Ok(Json(json!({
        "count": decisions.len(),
        "limit": limit,
        "decisions": decisions,
        "timestamp": timestamp(Utc::now()),
    })))
}
