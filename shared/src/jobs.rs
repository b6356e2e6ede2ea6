//! Job payloads: the contract between the API (producer) and the worker (consumer).
//!
//! Every job type names its queue as a constant, so renaming a Rust type can never rename a
//! queue. Every payload carries the ids its effect is keyed on (minted by the API, or derived
//! from the client's `Idempotency-Key`), so a re-delivered job maps to the same rows.

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

/// A member's choice on a proposal.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "UPPERCASE")]
#[sqlx(type_name = "vote_value", rename_all = "UPPERCASE")]
pub enum Choice {
    /// In favour.
    For,
    /// Against.
    Against,
    /// Takes part (counts for quorum) without taking a side.
    Abstain,
}

/// Casts (or replaces) a member's vote. Idempotent: a re-delivery changes nothing, and an older
/// vote arriving after a newer one does not overwrite it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CastVote {
    /// The vote's id.
    pub vote_id: Uuid,
    /// The proposal voted on.
    pub proposal_id: Uuid,
    /// The voting member (the token's subject).
    pub voter_id: Uuid,
    /// The choice.
    pub choice: Choice,
    /// Optional reasoning, public.
    pub rationale: Option<String>,
    /// When the API accepted it; the voting window is judged at this instant.
    pub cast_at: DateTime<Utc>,
}

impl Job for CastVote {
    const QUEUE: &'static str = "votes";
}

/// A proposal's lifecycle step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    /// DRAFT → ACTIVE.
    Open,
    /// ACTIVE → CLOSED, storing the final tally.
    Close,
    /// DRAFT or ACTIVE → REJECTED.
    Reject,
}

/// A council role.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "UPPERCASE")]
#[sqlx(type_name = "council_role", rename_all = "UPPERCASE")]
pub enum CouncilRole {
    /// Chairs the council.
    Chair,
    /// A voting council member.
    Member,
    /// Attends without a vote.
    Observer,
}

/// Governance commands, applied one per job in the `governance` queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Governance {
    /// Creates a DRAFT proposal; idempotent on `proposal_id`.
    CreateProposal {
        /// The new proposal's id.
        proposal_id: Uuid,
        /// Title (≤ 255 characters).
        title: String,
        /// Description.
        description: String,
        /// Voting opens.
        vote_start_time: DateTime<Utc>,
        /// Voting closes.
        vote_end_time: DateTime<Utc>,
        /// Fraction (0..=1) of eligible weight that must take part.
        required_quorum: f64,
        /// The council member who proposed it.
        proposer_id: Uuid,
    },
    /// Moves a proposal through its lifecycle; idempotent on `command_id`.
    TransitionProposal {
        /// This command's id.
        command_id: Uuid,
        /// The proposal.
        proposal_id: Uuid,
        /// Which step.
        transition: Transition,
        /// Who asked.
        requested_by: Uuid,
    },
    /// Delegates a member's weight, globally or for one proposal; idempotent on `delegation_id`.
    CreateDelegation {
        /// The delegation's id.
        delegation_id: Uuid,
        /// Who hands over their weight (the token's subject).
        delegator_id: Uuid,
        /// Who receives it.
        delegate_id: Uuid,
        /// The proposal it is limited to, or `None` for every proposal.
        proposal_id: Option<Uuid>,
    },
    /// Revokes a delegation; revoking twice is harmless.
    RevokeDelegation {
        /// This command's id.
        command_id: Uuid,
        /// The delegation.
        delegation_id: Uuid,
        /// Who asked (must be the delegator).
        requested_by: Uuid,
    },
    /// Adds a council member; idempotent on `member_id`.
    AddCouncilMember {
        /// The membership's id.
        member_id: Uuid,
        /// The member.
        user_id: Uuid,
        /// Their role.
        role: CouncilRole,
        /// Start of the term.
        start_date: DateTime<Utc>,
        /// End of the term, if known.
        end_date: Option<DateTime<Utc>>,
        /// The operator who asked.
        requested_by: Uuid,
    },
    /// Registers an outbound webhook endpoint; idempotent on `endpoint_id`. The secret was
    /// generated by the API and shown once in its answer; the worker stores it.
    RegisterWebhookEndpoint {
        /// The endpoint's id.
        endpoint_id: Uuid,
        /// Where events are POSTed (`http://` or `https://`).
        url: String,
        /// The event types it receives (see `webhooks::EVENT_TYPES`).
        event_types: Vec<String>,
        /// The signing secret (`whsec_…`).
        secret: crate::webhooks::WebhookSecret,
        /// The operator who asked.
        requested_by: Uuid,
    },
    /// Ends a council membership; idempotent on `command_id`.
    EndCouncilMembership {
        /// This command's id.
        command_id: Uuid,
        /// The membership.
        member_id: Uuid,
        /// When it ends.
        end_date: DateTime<Utc>,
        /// The operator who asked.
        requested_by: Uuid,
    },
}

impl Job for Governance {
    const QUEUE: &'static str = "governance";
}

/// Delivers one outbox row (`webhook_deliveries.id`, also its `webhook-id` and its job id) to its
/// endpoint. The payload, URL and secret are read from Postgres, so none of them sits in Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliverWebhook {
    /// The delivery (outbox) row.
    pub delivery_id: Uuid,
}

impl Job for DeliverWebhook {
    const QUEUE: &'static str = "webhooks";
}

/// Credits one chunk of a distribution period (wallets in an id range) and debits the community
/// pool by the same total, in one transaction; idempotent on `chunk_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributionChunk {
    /// The chunk row (`distribution_chunks.id`), also the job id.
    pub chunk_id: Uuid,
    /// Its period.
    pub period_id: Uuid,
}

impl Job for DistributionChunk {
    const QUEUE: &'static str = "distribution";
}

/// Every queue the platform runs, for the controller's and operators' views.
pub const ALL_QUEUES: &[&str] = &[
    RecordGoodwill::QUEUE,
    CastVote::QUEUE,
    Governance::QUEUE,
    DeliverWebhook::QUEUE,
    DistributionChunk::QUEUE,
];
