//! The statuses of the platform's entities as typed enums (Postgres ENUMs on the wire where the
//! column is one), each with one pure transition table: what may follow what is written once,
//! here, and tested as a table. (A job's phase lives beside the queue facade: `queue::JobPhase`.)

use std::fmt;

use serde::{Deserialize, Serialize};

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

/// A proposal's status (`proposal_status` in Postgres).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "UPPERCASE")]
#[sqlx(type_name = "proposal_status", rename_all = "UPPERCASE")]
pub enum ProposalStatus {
    /// Created, not yet open for votes.
    Draft,
    /// Open for votes.
    Active,
    /// Closed with its final tally.
    Closed,
    /// Rejected without a tally.
    Rejected,
}

impl ProposalStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ProposalStatus; 4] = [
        ProposalStatus::Draft,
        ProposalStatus::Active,
        ProposalStatus::Closed,
        ProposalStatus::Rejected,
    ];

    /// The lifecycle table: the statuses `transition` may leave, and the status it leads to.
    fn lifecycle(transition: Transition) -> (&'static [ProposalStatus], ProposalStatus) {
        use ProposalStatus::*;
        match transition {
            Transition::Open => (&[Draft], Active),
            Transition::Close => (&[Active], Closed),
            Transition::Reject => (&[Draft, Active], Rejected),
        }
    }

    /// Where `transition` takes a proposal in status `self`, or `None` when it may not be
    /// taken from there.
    pub fn next(self, transition: Transition) -> Option<ProposalStatus> {
        let (sources, target) = Self::lifecycle(transition);
        sources.contains(&self).then_some(target)
    }

    /// The statuses `transition` may be taken from.
    pub fn sources(transition: Transition) -> &'static [ProposalStatus] {
        Self::lifecycle(transition).0
    }

    /// The status `transition` leads to (from any of its [`sources`](Self::sources)).
    pub fn target(transition: Transition) -> ProposalStatus {
        Self::lifecycle(transition).1
    }

    /// Whether no transition leaves it (CLOSED, REJECTED).
    pub fn is_final(self) -> bool {
        [Transition::Open, Transition::Close, Transition::Reject]
            .into_iter()
            .all(|t| self.next(t).is_none())
    }

    /// Parses a status name in any case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// The name Postgres stores, e.g. `ACTIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Draft => "DRAFT",
            ProposalStatus::Active => "ACTIVE",
            ProposalStatus::Closed => "CLOSED",
            ProposalStatus::Rejected => "REJECTED",
        }
    }
}

impl fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    use super::{ProposalStatus::*, *};

    #[test]
    fn the_proposal_lifecycle_table() {
        let table = [
            (Draft, Transition::Open, Some(Active)),
            (Draft, Transition::Close, None),
            (Draft, Transition::Reject, Some(Rejected)),
            (Active, Transition::Open, None),
            (Active, Transition::Close, Some(Closed)),
            (Active, Transition::Reject, Some(Rejected)),
            (Closed, Transition::Open, None),
            (Closed, Transition::Close, None),
            (Closed, Transition::Reject, None),
            (Rejected, Transition::Open, None),
            (Rejected, Transition::Close, None),
            (Rejected, Transition::Reject, None),
        ];
        for (from, transition, to) in table {
            assert_eq!(from.next(transition), to, "{from} {transition:?}");
        }
    }

    #[test]
    fn sources_and_final_states_follow_the_table() {
        assert_eq!(ProposalStatus::sources(Transition::Open), [Draft]);
        assert_eq!(ProposalStatus::sources(Transition::Close), [Active]);
        assert_eq!(ProposalStatus::sources(Transition::Reject), [Draft, Active]);
        for t in [Transition::Open, Transition::Close, Transition::Reject] {
            for from in ProposalStatus::sources(t) {
                assert_eq!(from.next(t), Some(ProposalStatus::target(t)));
            }
        }
        let finals: Vec<_> = ProposalStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [Closed, Rejected]);
        for status in ProposalStatus::ALL {
            assert_eq!(
                ProposalStatus::parse(&status.as_str().to_lowercase()),
                Some(status)
            );
        }
        assert_eq!(ProposalStatus::parse("OPEN"), None);
    }

    #[test]
    fn names_match_postgres_and_the_json() -> Result<(), serde_json::Error> {
        for s in ProposalStatus::ALL {
            assert_eq!(serde_json::to_value(s)?, s.as_str());
            assert_eq!(s.to_string(), s.as_str());
        }
        Ok(())
    }

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
            json(serde_json::to_string(&DeliveryStatus::Enqueued)),
            r#""ENQUEUED""#
        );
    }
}
