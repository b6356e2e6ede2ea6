//! `GET /api/controller_decisions?limit=`: the latest `controller_actions` rows, newest first.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{limit::Listed, node::timestamp};

/// One recorded decision.
#[derive(sqlx::FromRow)]
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
}

impl Listed for Row {
    const SQL: &'static str = r#"SELECT id, "timestamp", recommendations, actions_taken, reason,
                  current_replicas, desired_replicas, scaler, dry_run
           FROM controller_actions ORDER BY "timestamp" DESC, id DESC LIMIT $1"#;
    const KEY: &'static str = "decisions";

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
        })
    }
}
