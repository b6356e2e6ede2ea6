//! Row statuses with their lifecycle as one pure transition table each.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::jobs::Transition;

/// A proposal's status (`proposal_status` in Postgres).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
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
    }

    #[test]
    fn names_match_postgres_and_the_json() -> Result<(), serde_json::Error> {
        for s in ProposalStatus::ALL {
            assert_eq!(serde_json::to_value(s)?, s.as_str());
            assert_eq!(s.to_string(), s.as_str());
        }
        Ok(())
    }
}
