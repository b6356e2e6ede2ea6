//! `GET /api/system_state`: host, Postgres, queue depth, Kubernetes and the last evaluation, all
//! from the loop's last snapshot (so a scrape never adds load); queues and replicas over every
//! worker pool, and each pool's last decision under `pools`.

use axum::{Json, extract::State};
use chrono::Utc;
use serde_json::{Value, json};

use super::node::{ApiError, NodeState, timestamp};
use crate::measure::{DatabaseMetrics, HostMetrics};

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

pub(super) async fn system_state(State(state): State<NodeState>) -> Result<Json<Value>, ApiError> {
    let last_evaluation =
        sqlx::query_scalar!(r#"SELECT max("timestamp") AS last FROM controller_actions"#)
            .fetch_one(&state.pool)
            .await
            .map_err(|e| ApiError::database(&e))?;
    let observed = state.observed.read().await;
    let snapshot = observed.snapshot.as_ref();
    let queues = observed.queues();
    let (current, desired) = observed.replicas();
    let pools: Vec<Value> = observed
        .pools
        .iter()
        .map(|p| {
            json!({
                "pool": p.spec.name,
                "queues": p.spec.queues,
                "min_replicas": p.spec.min,
                "max_replicas": p.spec.max,
                "current": p.decision.current,
                "desired": p.decision.desired,
                "reason": p.decision.reason.as_str(),
            })
        })
        .collect();
    Ok(Json(json!({
        "system_metrics": snapshot.and_then(|s| s.host).map(system_metrics),
        "database_activity": snapshot.and_then(|s| s.database).map(database_activity),
        "redis_queue_depth": queues.as_ref().map(|q| q.backlog()),
        "queue_latency_secs": queues.as_ref().map(|q| q.latency_secs()),
        "queues": queues.as_ref().map(|q| &q.by_queue),
        "worker_replicas": {
            "current": current,
            "desired": desired,
        },
        "pools": pools,
        "kubernetes_enabled": observed.kubernetes_connected,
        "last_controller_evaluation": last_evaluation.map(timestamp),
        "timestamp": timestamp(Utc::now()),
    })))
}

fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

fn system_metrics(host: HostMetrics) -> Value {
    json!({
        "cpu_percent": round(host.cpu_ratio * 100.0, 1),
        "memory": {
            "total_mb": round(host.memory_total_bytes as f64 / MIB, 1),
            "available_mb": round(host.memory_available_bytes as f64 / MIB, 1),
            "used_mb": round(host.memory_used_bytes() as f64 / MIB, 1),
            "percent": round(host.memory_ratio() * 100.0, 1),
        },
        "disk": {
            "total_gb": round(host.disk_total_bytes as f64 / GIB, 1),
            "used_gb": round(host.disk_used_bytes() as f64 / GIB, 1),
            "free_gb": round(host.disk_free_bytes as f64 / GIB, 1),
            "percent": round(host.disk_ratio() * 100.0, 1),
        },
        "load_averages": {
            "1min": host.load_averages[0],
            "5min": host.load_averages[1],
            "15min": host.load_averages[2],
        },
    })
}

fn database_activity(db: DatabaseMetrics) -> Value {
    json!({
        "active_connections": db.active_connections,
        "total_connections": db.total_connections,
        "max_connections": db.max_connections,
        "transactions_committed": db.transactions_committed,
        "cache_hit_ratio": round(db.cache_hit_ratio * 100.0, 2),
    })
}
