//! Liquid-democracy tally with transitive delegation.
//!
//! A member who votes carries weight 1 plus the weight of every member who reaches them through
//! a chain of delegators who did not vote themselves. A member's effective delegation for a
//! proposal is their live delegation for that proposal if any, else their live global one.
//! (The Commons counted one hop only; we follow the whole chain.)
//!
//! Complexity: each delegator's chain is resolved once and memoised (path compression), so the
//! tally is O(V + D) time and memory for V votes and D effective delegations, independent of
//! the chain depth; eligible members are only counted (one `count(*)`). Cycles cannot be created
//! (the worker refuses them), but a member caught in one would simply carry no weight: the walk
//! marks nodes in progress and never loops.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::jobs::Choice;

/// What a tally is computed from.
#[derive(Debug, Clone, Default)]
pub struct TallyInputs {
    /// Direct votes: voter → choice.
    pub votes: HashMap<Uuid, Choice>,
    /// Effective delegations for this proposal: delegator → delegate.
    pub delegations: HashMap<Uuid, Uuid>,
    /// Members eligible to take part (the quorum's denominator).
    pub eligible: u64,
    /// Fraction (0..=1) of eligible weight that must take part.
    pub required_quorum: f64,
}

/// The result, in weights (not heads) except `direct_votes`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Tally {
    /// Weight for.
    #[serde(rename = "for")]
    pub for_weight: u64,
    /// Weight against.
    pub against: u64,
    /// Weight abstaining.
    pub abstain: u64,
    /// Members who voted themselves.
    pub direct_votes: u64,
    /// Weight carried for others through delegation.
    pub delegated_weight: u64,
    /// Members eligible to take part.
    pub eligible: u64,
    /// Whether participating weight reached the required share of eligible members.
    pub quorum_reached: bool,
    /// `passes` when FOR > AGAINST and quorum is reached, else `fails`.
    pub outcome: Outcome,
}

/// A proposal's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// FOR > AGAINST and quorum reached.
    Passes,
    /// Anything else.
    Fails,
}

#[derive(Clone, Copy)]
enum Resolution {
    InProgress,
    Voter(Uuid),
    Nobody,
}

/// Computes the tally. Pure: no I/O.
pub fn compute(inputs: &TallyInputs) -> Tally {
    let mut weight: HashMap<Uuid, u64> = inputs.votes.keys().map(|v| (*v, 1)).collect();
    let mut memo: HashMap<Uuid, Resolution> = HashMap::with_capacity(inputs.delegations.len());
    let mut path = Vec::new();
    for delegator in inputs.delegations.keys() {
        if inputs.votes.contains_key(delegator) {
            continue; // a direct vote overrides the member's own delegation
        }
        if let Resolution::Voter(voter) = resolve(*delegator, inputs, &mut memo, &mut path) {
            *weight.entry(voter).or_default() += 1;
        }
    }
    let mut tally = Tally {
        for_weight: 0,
        against: 0,
        abstain: 0,
        direct_votes: inputs.votes.len() as u64,
        delegated_weight: 0,
        eligible: inputs.eligible,
        quorum_reached: false,
        outcome: Outcome::Fails,
    };
    for (voter, choice) in &inputs.votes {
        let w = weight.get(voter).copied().unwrap_or(1);
        tally.delegated_weight += w - 1;
        match choice {
            Choice::For => tally.for_weight += w,
            Choice::Against => tally.against += w,
            Choice::Abstain => tally.abstain += w,
        }
    }
    let participating = tally.for_weight + tally.against + tally.abstain;
    tally.quorum_reached = if inputs.eligible == 0 {
        inputs.required_quorum <= 0.0
    } else {
        participating as f64 >= inputs.required_quorum * inputs.eligible as f64
    };
    if tally.quorum_reached && tally.for_weight > tally.against {
        tally.outcome = Outcome::Passes;
    }
    tally
}

/// Follows `start`'s delegation chain to the first member who voted, memoising every member on
/// the way. Iterative, so chains of any depth cannot overflow the stack.
fn resolve(
    start: Uuid,
    inputs: &TallyInputs,
    memo: &mut HashMap<Uuid, Resolution>,
    path: &mut Vec<Uuid>,
) -> Resolution {
    path.clear();
    let mut current = start;
    let found = loop {
        if inputs.votes.contains_key(&current) {
            break Resolution::Voter(current);
        }
        match memo.get(&current) {
            Some(Resolution::InProgress) => break Resolution::Nobody, // a cycle
            Some(done) => break *done,
            None => {}
        }
        match inputs.delegations.get(&current) {
            Some(next) => {
                memo.insert(current, Resolution::InProgress);
                path.push(current);
                current = *next;
            }
            None => break Resolution::Nobody,
        }
    };
    for member in path.drain(..) {
        memo.insert(member, found);
    }
    found
}

/// Loads the inputs of one proposal's tally as it stands now (three queries, no N+1).
pub async fn load(
    conn: &mut PgConnection,
    proposal_id: Uuid,
    required_quorum: f64,
) -> Result<TallyInputs, sqlx::Error> {
    load_at(conn, proposal_id, required_quorum, None).await
}

/// Loads the inputs of a proposal's tally as they stood at `at` (its close): the delegations
/// live at that instant and the members who existed then. Votes cannot change once a proposal
/// is closed, so they are read as they are. Reconciliation compares this recomputation with
/// the stored final result.
pub async fn load_as_of(
    conn: &mut PgConnection,
    proposal_id: Uuid,
    required_quorum: f64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<TallyInputs, sqlx::Error> {
    load_at(conn, proposal_id, required_quorum, Some(at)).await
}

/// One member's vote.
struct VoteRow {
    voter_user_id: Uuid,
    vote_value: Choice,
}

/// Who hands their weight to whom.
struct DelegationRow {
    delegator_user_id: Uuid,
    delegate_user_id: Uuid,
}

/// The inputs now (`at = None`) or as of an instant.
async fn load_at(
    conn: &mut PgConnection,
    proposal_id: Uuid,
    required_quorum: f64,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<TallyInputs, sqlx::Error> {
    let votes = sqlx::query_as!(
        VoteRow,
        r#"SELECT voter_user_id, vote_value AS "vote_value: Choice"
           FROM votes WHERE proposal_id = $1"#,
        proposal_id
    )
    .fetch_all(&mut *conn)
    .await?;
    // The most specific live delegation wins: the proposal's own sorts before the global one.
    let delegations = sqlx::query_as!(
        DelegationRow,
        "SELECT DISTINCT ON (delegator_user_id) delegator_user_id, delegate_user_id
         FROM delegations
         WHERE (proposal_id = $1 OR proposal_id IS NULL)
           AND CASE WHEN $2::timestamptz IS NULL THEN revoked_at IS NULL
                    ELSE created_at <= $2 AND (revoked_at IS NULL OR revoked_at > $2) END
         ORDER BY delegator_user_id, proposal_id NULLS LAST",
        proposal_id,
        at
    )
    .fetch_all(&mut *conn)
    .await?;
    // System accounts (the community pool) hold wallets but are not members.
    let eligible = sqlx::query_scalar!(
        r#"SELECT count(*) AS "eligible!" FROM users
           WHERE NOT system_account AND ($1::timestamptz IS NULL OR created_at <= $1)"#,
        at
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(TallyInputs {
        votes: votes
            .into_iter()
            .map(|v| (v.voter_user_id, v.vote_value))
            .collect(),
        delegations: delegations
            .into_iter()
            .map(|d| (d.delegator_user_id, d.delegate_user_id))
            .collect(),
        eligible: u64::try_from(eligible).unwrap_or(0),
        required_quorum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    fn inputs(
        votes: &[(Uuid, Choice)],
        delegations: &[(Uuid, Uuid)],
        eligible: u64,
    ) -> TallyInputs {
        TallyInputs {
            votes: votes.iter().copied().collect(),
            delegations: delegations.iter().copied().collect(),
            eligible,
            required_quorum: 0.0,
        }
    }

    #[test]
    fn a_chain_a_to_b_to_c_gives_the_voting_c_weight_three() {
        let m = ids(3);
        let (a, b, c) = (m[0], m[1], m[2]);
        let t = compute(&inputs(&[(c, Choice::For)], &[(a, b), (b, c)], 3));
        assert_eq!(
            (t.for_weight, t.direct_votes, t.delegated_weight),
            (3, 1, 2)
        );
    }

    #[test]
    fn when_b_votes_too_b_carries_two_and_c_carries_one() {
        let m = ids(3);
        let (a, b, c) = (m[0], m[1], m[2]);
        let t = compute(&inputs(
            &[(c, Choice::For), (b, Choice::Against)],
            &[(a, b), (b, c)],
            3,
        ));
        assert_eq!((t.for_weight, t.against), (1, 2));
    }

    #[test]
    fn weight_that_reaches_no_voter_is_lost_and_cycles_do_not_loop() {
        let m = ids(4);
        let t = compute(&inputs(
            &[(m[3], Choice::Abstain)],
            &[(m[0], m[1]), (m[1], m[0]), (m[2], m[0])],
            4,
        ));
        assert_eq!((t.abstain, t.delegated_weight), (1, 0));
    }

    #[test]
    fn quorum_counts_all_participating_weight_and_outcome_needs_it() {
        let m = ids(10);
        let mut i = inputs(
            &[(m[0], Choice::For), (m[1], Choice::Abstain)],
            &[(m[2], m[0])],
            10,
        );
        i.required_quorum = 0.3;
        let t = compute(&i);
        assert!(t.quorum_reached);
        assert_eq!(t.outcome, Outcome::Passes);
        i.required_quorum = 0.31;
        let t = compute(&i);
        assert!(!t.quorum_reached);
        assert_eq!(t.outcome, Outcome::Fails);
    }

    #[test]
    fn a_tie_fails() {
        let m = ids(2);
        let t = compute(&inputs(
            &[(m[0], Choice::For), (m[1], Choice::Against)],
            &[],
            2,
        ));
        assert_eq!(t.outcome, Outcome::Fails);
    }

    #[test]
    fn a_chain_of_100000_resolves_without_recursion() {
        let m = ids(100_001);
        let chain: Vec<_> = m.windows(2).map(|w| (w[0], w[1])).collect();
        let t = compute(&inputs(&[(m[100_000], Choice::For)], &chain, 100_001));
        assert_eq!(t.for_weight, 100_001);
    }

    /// An independent, deliberately naive recomputation: walk each member's chain hop by hop.
    fn naive(i: &TallyInputs) -> (u64, u64, u64) {
        let (mut f, mut a, mut ab) = (0, 0, 0);
        let mut add = |choice: &Choice| match choice {
            Choice::For => f += 1,
            Choice::Against => a += 1,
            Choice::Abstain => ab += 1,
        };
        let mut members: Vec<Uuid> = i
            .votes
            .keys()
            .chain(i.delegations.keys())
            .copied()
            .collect();
        members.sort();
        members.dedup();
        for m in members {
            let mut cur = m;
            for _ in 0..=i.delegations.len() {
                if let Some(choice) = i.votes.get(&cur) {
                    add(choice);
                    break;
                }
                match i.delegations.get(&cur) {
                    Some(next) => cur = *next,
                    None => break,
                }
            }
        }
        (f, a, ab)
    }

    #[test]
    fn the_tally_equals_a_naive_recomputation_on_random_graphs_of_2000_members() {
        use rand_like::Lcg;
        let mut rng = Lcg(42);
        for _round in 0..20 {
            let m = ids(2_000);
            let mut votes = Vec::new();
            let mut delegations = Vec::new();
            for (k, member) in m.iter().enumerate() {
                match rng.next() % 10 {
                    0..=2 => votes.push((
                        *member,
                        [Choice::For, Choice::Against, Choice::Abstain][rng.next() as usize % 3],
                    )),
                    // Delegate to a later member only, so the graph is acyclic like the real one.
                    3..=8 if k + 1 < m.len() => {
                        let to = k + 1 + (rng.next() as usize % (m.len() - k - 1)).min(60);
                        delegations.push((*member, m[to.min(m.len() - 1)]));
                    }
                    _ => {}
                }
            }
            let i = inputs(&votes, &delegations, 2_000);
            let t = compute(&i);
            assert_eq!((t.for_weight, t.against, t.abstain), naive(&i));
        }
    }

    /// A tiny deterministic generator, so the test needs no extra crate and is repeatable.
    mod rand_like {
        pub struct Lcg(pub u64);
        impl Lcg {
            pub fn next(&mut self) -> u64 {
                self.0 = self
                    .0
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                self.0 >> 33
            }
        }
    }
}
