//! What the Observability Node adds to the shared `GET /health` report: the original node's
//! service name, uptime and timestamp.

use std::time::Instant;

use chrono::Utc;
use coin_shared::health::HealthReport;
use serde_json::{Map, Value, json};

use super::node::timestamp;

/// The node's own `/health` fields, merged over the shared report.
pub(super) fn details(report: &HealthReport, started: Instant) -> Map<String, Value> {
    let fields = json!({
        "service": "Global Observability Node",
        "binary": report.service,
        "uptime_seconds": started.elapsed().as_secs_f64(),
        "timestamp": timestamp(Utc::now()),
    });
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
