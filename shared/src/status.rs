//! The statuses of the platform's entities as typed enums (Postgres ENUMs on the wire), each
//! with one pure transition table: what may follow what is written once, here, and tested as a
//! table. (A job's phase lives beside the queue facade: `queue::JobPhase`.)

use serde::{Deserialize, Serialize};

/// A goodwill action's status (`goodwill_status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sqlx(type_name = "goodwill_status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GoodwillStatus {
    /// Recorded, waiting for review or vouches; credits nothing yet.
    PendingVerification,
    /// Verified: credited once.
    Verified,
    /// Rejected: never credits.
    Rejected,
}

/// Every move a goodwill action can make.
pub const GOODWILL_TRANSITIONS: &[(GoodwillStatus, GoodwillStatus)] = &[
    (
        GoodwillStatus::PendingVerification,
        GoodwillStatus::Verified,
    ),
    (
        GoodwillStatus::PendingVerification,
        GoodwillStatus::Rejected,
    ),
];

impl GoodwillStatus {
    /// Whether an action in this status may move to `next`.
    pub fn can_become(self, next: Self) -> bool {
        GOODWILL_TRANSITIONS.contains(&(self, next))
    }

    /// Whether an action in this status has its points on the ledger.
    pub fn credits(self) -> bool {
        self == GoodwillStatus::Verified
    }
}

/// A proposal's status (`proposal_status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "UPPERCASE")]
#[sqlx(type_name = "proposal_status", rename_all = "UPPERCASE")]
pub enum ProposalStatus {
    /// Written, not yet open for votes.
    Draft,
    /// Open for votes within its window.
    Active,
    /// Voting ended; the final tally is stored.
    Closed,
    /// Withdrawn before or during voting.
    Rejected,
}

/// Every move a proposal can make: open, close, reject.
pub const PROPOSAL_TRANSITIONS: &[(ProposalStatus, ProposalStatus)] = &[
    (ProposalStatus::Draft, ProposalStatus::Active),
    (ProposalStatus::Active, ProposalStatus::Closed),
    (ProposalStatus::Draft, ProposalStatus::Rejected),
    (ProposalStatus::Active, ProposalStatus::Rejected),
];

impl ProposalStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ProposalStatus; 4] = [
        ProposalStatus::Draft,
        ProposalStatus::Active,
        ProposalStatus::Closed,
        ProposalStatus::Rejected,
    ];

    /// Whether a proposal in this status may move to `next`.
    pub fn can_become(self, next: Self) -> bool {
        PROPOSAL_TRANSITIONS.contains(&(self, next))
    }

    /// Its name as stored and shown (`DRAFT`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Draft => "DRAFT",
            ProposalStatus::Active => "ACTIVE",
            ProposalStatus::Closed => "CLOSED",
            ProposalStatus::Rejected => "REJECTED",
        }
    }

    /// Parses a status name in any case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// A webhook delivery's status (`webhook_delivery_status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "UPPERCASE")]
#[sqlx(type_name = "webhook_delivery_status", rename_all = "UPPERCASE")]
pub enum DeliveryStatus {
    /// In the outbox, not yet handed to the queue.
    Pending,
    /// A delivery job is queued or running.
    Enqueued,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up (retries exhausted, or a permanent refusal).
    Failed,
    /// Not sent: the endpoint was disabled or gone.
    Skipped,
}

/// Every move a delivery can make.
pub const DELIVERY_TRANSITIONS: &[(DeliveryStatus, DeliveryStatus)] = &[
    (DeliveryStatus::Pending, DeliveryStatus::Enqueued),
    (DeliveryStatus::Pending, DeliveryStatus::Skipped),
    (DeliveryStatus::Enqueued, DeliveryStatus::Delivered),
    (DeliveryStatus::Enqueued, DeliveryStatus::Failed),
    (DeliveryStatus::Enqueued, DeliveryStatus::Skipped),
];

impl DeliveryStatus {
    /// Whether a delivery in this status may move to `next`.
    pub fn can_become(self, next: Self) -> bool {
        DELIVERY_TRANSITIONS.contains(&(self, next))
    }
}

/// A webhook endpoint's status (stored as `webhook_endpoints.active`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointStatus {
    /// Receives its event types.
    Active,
    /// Receives nothing until an operator enables it again.
    Disabled,
}

/// Every move an endpoint can make: an operator disables or enables it.
pub const ENDPOINT_TRANSITIONS: &[(EndpointStatus, EndpointStatus)] = &[
    (EndpointStatus::Active, EndpointStatus::Disabled),
    (EndpointStatus::Disabled, EndpointStatus::Active),
];

impl EndpointStatus {
    /// Whether an endpoint in this status may move to `next`.
    pub fn can_become(self, next: Self) -> bool {
        ENDPOINT_TRANSITIONS.contains(&(self, next))
    }

    /// From the stored `active` flag.
    pub fn from_active(active: bool) -> Self {
        if active {
            EndpointStatus::Active
        } else {
            EndpointStatus::Disabled
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goodwill_moves_only_from_pending_and_only_verified_credits() {
        use GoodwillStatus::*;
        let cases = [
            (PendingVerification, Verified, true),
            (PendingVerification, Rejected, true),
            (Verified, Rejected, false),
            (Rejected, Verified, false),
            (Verified, PendingVerification, false),
            (Verified, Verified, false),
        ];
        for (from, to, allowed) in cases {
            assert_eq!(from.can_become(to), allowed, "{from:?} → {to:?}");
        }
        assert!(Verified.credits() && !PendingVerification.credits() && !Rejected.credits());
    }

    #[test]
    fn proposals_open_close_and_reject_along_the_table() {
        use ProposalStatus::*;
        let cases = [
            (Draft, Active, true),
            (Active, Closed, true),
            (Draft, Rejected, true),
            (Active, Rejected, true),
            (Draft, Closed, false),
            (Closed, Active, false),
            (Closed, Rejected, false),
            (Rejected, Active, false),
            (Active, Draft, false),
        ];
        for (from, to, allowed) in cases {
            assert_eq!(from.can_become(to), allowed, "{from:?} → {to:?}");
        }
        for status in ProposalStatus::ALL {
            assert_eq!(ProposalStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                ProposalStatus::parse(&status.as_str().to_lowercase()),
                Some(status)
            );
        }
        assert_eq!(ProposalStatus::parse("OPEN"), None);
    }

    #[test]
    fn deliveries_and_endpoints_move_along_their_tables() {
        use DeliveryStatus::*;
        let cases = [
            (Pending, Enqueued, true),
            (Pending, Skipped, true),
            (Enqueued, Delivered, true),
            (Enqueued, Failed, true),
            (Enqueued, Skipped, true),
            (Delivered, Failed, false),
            (Failed, Delivered, false),
            (Pending, Delivered, false),
        ];
        for (from, to, allowed) in cases {
            assert_eq!(from.can_become(to), allowed, "{from:?} → {to:?}");
        }
        assert!(EndpointStatus::Active.can_become(EndpointStatus::Disabled));
        assert!(EndpointStatus::Disabled.can_become(EndpointStatus::Active));
        assert!(!EndpointStatus::Active.can_become(EndpointStatus::Active));
        assert_eq!(EndpointStatus::from_active(false), EndpointStatus::Disabled);
    }

    #[test]
    fn statuses_serialize_as_the_database_names() {
        let json = |v: serde_json::Result<String>| v.expect("json");
        assert_eq!(
            json(serde_json::to_string(&GoodwillStatus::PendingVerification)),
            r#""PENDING_VERIFICATION""#
        );
        assert_eq!(
            json(serde_json::to_string(&ProposalStatus::Active)),
            r#""ACTIVE""#
        );
        assert_eq!(
            json(serde_json::to_string(&DeliveryStatus::Enqueued)),
            r#""ENQUEUED""#
        );
    }
}
