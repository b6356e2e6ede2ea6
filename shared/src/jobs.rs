//! Job payloads: the contract between the API (producer) and the worker (consumer).
//!
//! Every job type names its queue as a constant, so renaming a Rust type can never rename a
//! queue (apalis-redis would otherwise name it after `type_name::<T>()`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

/// A payload that travels through one named queue.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// The queue's name, without namespace, e.g. `goodwill`.
    const QUEUE: &'static str;
}

/// Records one goodwill action: user and wallet created if new, the action stored as VERIFIED,
/// `loves_value` points credited through the ledger, one audit row. Idempotent on `action_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordGoodwill {
    /// The action's id (UUIDv7), minted by the API so a re-delivery maps to the same row.
    pub action_id: Uuid,
    /// Who did the good.
    pub user_id: Uuid,
    /// What kind of good, e.g. `volunteering`.
    pub action_type: String,
    /// Free text.
    pub description: String,
    /// Points it is worth (1..=100).
    pub loves_value: i32,
    /// When it happened, by the client's clock.
    pub occurred_at: DateTime<Utc>,
    /// Client-provided context object (`contextual_data`).
    #[serde(default)]
    pub context: serde_json::Map<String, serde_json::Value>,
    /// Who asked for it (the token's subject), for the audit trail.
    pub requested_by: Uuid,
    /// When the API accepted it; rules that depend on "now" are judged at this instant, so a
    /// late or retried delivery is judged like the first.
    pub requested_at: DateTime<Utc>,
}

impl Job for RecordGoodwill {
    const QUEUE: &'static str = "goodwill";
}

/// Every queue the platform runs, for the controller's and operators' views.
pub const ALL_QUEUES: &[&str] = &[RecordGoodwill::QUEUE];
