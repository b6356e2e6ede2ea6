//! `GET /api/controller_decisions?limit=&pool=`: the latest `controller_actions` rows, newest
//! first, each with the worker pool it decided for; `pool` keeps only that pool's.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{limit::Listed, node::timestamp};

/// One recorded decision.
pub(super) struct Row {
    id: i64,
    timestamp: DateTime<Utc>,
    recommendations: Value,
    actions_taken: Value,
    reason: String,
    current_replicas: Option<i32>,
    desired_replicas: Option<i32>,
    scaler: String,
    dry_run: bool,
    pool: String,
}

impl Listed for Row {
    const KEY: &'static str = "decisions";

    async fn newest(
        pool: &PgPool,
        limit: i64,
        query: &HashMap<String, String>,
    ) -> Result<Vec<Self>, sqlx::Error> {
        let worker_pool = query.get("pool").map(String::as_str);
        sqlx::query_as!(
            Row,
            r#"SELECT id, "timestamp", recommendations, actions_taken, reason,
                      current_replicas, desired_replicas, scaler, dry_run, pool
               FROM controller_actions
               WHERE $2::text IS NULL OR pool = $2
               ORDER BY "timestamp" DESC, id DESC LIMIT $1"#,
            limit,
            worker_pool
        )
        .fetch_all(pool)
        .await
    }

    fn view(self) -> Value {
        json!({
            "id": self.id,
            "timestamp": timestamp(self.timestamp),
            "recommendations": self.recommendations,
            "actions_taken": self.actions_taken,
            "reason": self.reason,
            "current_replicas": self.current_replicas,
            "desired_replicas": self.desired_replicas,
            "scaler": self.scaler,
            "dry_run": self.dry_run,
            "pool": self.pool,
        })
    }
}
