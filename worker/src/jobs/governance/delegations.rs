//! Delegations: create (refusing self-delegation and cycles) and revoke.

use coin_shared::{
    jobs::{CreateDelegation, RevokeDelegation},
    status::ProposalStatus,
    webhooks,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::jobs::prelude::*;

/// Serializes delegation changes, so two concurrent jobs cannot together close a cycle that
/// each alone would not.
const DELEGATION_LOCK: i64 = 0x00c0_1de1_e6a7_e000;

/// Creates a delegation, replacing the delegator's live one of the same scope. Self-delegation
/// is refused by the shared rules in `governance::apply`; cycles here.
pub async fn create(pool: &PgPool, job: &CreateDelegation) -> Result<Applied, JobError> {
    let CreateDelegation {
        delegation_id,
        delegator_id: delegator,
        delegate_id: delegate,
        proposal_id,
    } = *job;
    apply_once(pool, Claim::Row, async |tx| {
        sqlx::query!("SELECT pg_advisory_xact_lock($1)", DELEGATION_LOCK)
            .execute(&mut *tx)
            .await?;
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM delegations WHERE id = $1) AS "exists!""#,
            delegation_id
        )
        .fetch_one(&mut *tx)
        .await?;
        if exists {
            return Ok(None);
        }
        if let Some(proposal) = proposal_id {
            let status = sqlx::query_scalar!(
                r#"SELECT status AS "status: ProposalStatus" FROM proposals WHERE id = $1"#,
                proposal
            )
            .fetch_optional(&mut *tx)
            .await?;
            match status {
                None => {
                    return Err(JobError::Permanent(format!(
                        "proposal {proposal} does not exist"
                    )));
                }
                Some(s) if s.is_final() => {
                    return Err(JobError::Permanent(format!(
                        "proposal {proposal} is {s}: delegations for it are no longer accepted"
                    )));
                }
                Some(_) => {}
            }
        }
        if closes_cycle(tx, delegator, delegate, proposal_id).await? {
            return Err(JobError::Permanent(format!(
                "delegating from {delegator} to {delegate} would close a cycle of delegations"
            )));
        }
        store::ensure_user(tx, delegator).await?;
        store::ensure_user(tx, delegate).await?;
        sqlx::query!(
            "UPDATE delegations SET revoked_at = now()
             WHERE delegator_user_id = $1 AND revoked_at IS NULL
               AND proposal_id IS NOT DISTINCT FROM $2",
            delegator,
            proposal_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO delegations (id, delegator_user_id, delegate_user_id, proposal_id)
             VALUES ($1, $2, $3, $4)",
            delegation_id,
            delegator,
            delegate,
            proposal_id
        )
        .execute(&mut *tx)
        .await?;
        let details = serde_json::json!({ "delegate_id": delegate, "proposal_id": proposal_id });
        let data = changed("created", delegation_id, delegator, delegate, proposal_id);
        Ok(Some(
            Effect::audit("DELEGATION_CREATED", "delegation", delegation_id)
                .by(delegator)
                .details(details)
                .emit(webhooks::DELEGATION_CHANGED, data),
        ))
    })
    .await
}

/// The `delegation.changed` event's data.
fn changed(
    change: &str,
    delegation_id: Uuid,
    delegator: Uuid,
    delegate: Uuid,
    proposal_id: Option<Uuid>,
) -> serde_json::Value {
    serde_json::json!({
        "change": change,
        "delegation_id": delegation_id,
        "delegator_id": delegator,
        "delegate_id": delegate,
        "proposal_id": proposal_id,
    })
}

/// Whether `delegate` already reaches `delegator` through live delegations, so that adding
/// delegator → delegate would close a cycle. For a proposal-scoped delegation the walk follows
/// that proposal's and the global delegations; for a global one it follows every live
/// delegation, since a global edge takes part in every proposal's effective graph. (This is
/// conservative: it may refuse a global delegation that would only cycle through a proposal's
/// overridden edge. It never lets a cycle through.)
async fn closes_cycle(
    conn: &mut PgConnection,
    delegator: Uuid,
    delegate: Uuid,
    proposal_id: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH RECURSIVE reach(member) AS (
             SELECT $2::uuid
             UNION
             SELECT d.delegate_user_id
             FROM delegations d JOIN reach r ON d.delegator_user_id = r.member
             WHERE d.revoked_at IS NULL
               AND ($3::uuid IS NULL OR d.proposal_id IS NULL OR d.proposal_id = $3)
         )
         SELECT EXISTS (SELECT 1 FROM reach WHERE member = $1) AS "closes!""#,
        delegator,
        delegate,
        proposal_id
    )
    .fetch_one(conn)
    .await
}

/// The delegation row a revocation reads (and locks).
#[derive(Debug)]
struct Owned {
    delegator: Uuid,
    revoked: bool,
    delegate: Uuid,
    proposal_id: Option<Uuid>,
}

/// Revokes a delegation; only its delegator may, and revoking twice changes nothing.
pub async fn revoke(pool: &PgPool, job: &RevokeDelegation) -> Result<Applied, JobError> {
    let RevokeDelegation {
        command_id,
        delegation_id,
        requested_by,
    } = *job;
    let claim = Claim::command(command_id, "DELEGATION_REVOKED");
    apply_once(pool, claim, async |tx| {
        let owner = sqlx::query_as!(
            Owned,
            r#"SELECT delegator_user_id AS delegator, revoked_at IS NOT NULL AS "revoked!",
                      delegate_user_id AS delegate, proposal_id
               FROM delegations WHERE id = $1 FOR UPDATE"#,
            delegation_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let owned = existing(owner, format_args!("delegation {delegation_id}"))?;
        if owned.delegator != requested_by {
            return Err(JobError::Permanent(format!(
                "delegation {delegation_id} belongs to another member"
            )));
        }
        if owned.revoked {
            return Ok(None);
        }
        sqlx::query!(
            "UPDATE delegations SET revoked_at = now() WHERE id = $1",
            delegation_id
        )
        .execute(&mut *tx)
        .await?;
        let (delegator, delegate) = (owned.delegator, owned.delegate);
        let data = changed(
            "revoked",
            delegation_id,
            delegator,
            delegate,
            owned.proposal_id,
        );
        Ok(Some(
            Effect::audit("DELEGATION_REVOKED", "delegation", delegation_id)
                .by(delegator)
                .emit(webhooks::DELEGATION_CHANGED, data),
        ))
    })
    .await
}
