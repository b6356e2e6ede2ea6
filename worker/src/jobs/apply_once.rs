//! The one shape of an exactly-once effect: claim, effect, audit row, outbox rows, all in one
//! transaction, then commit. A handler states only its effect; [`apply_once`] does the rest.
//!
//! Two ways to know an earlier delivery already applied a job:
//! - [`Claim::Command`]: the command's id is claimed in `applied_commands` before the effect
//!   runs; an id claimed before means nothing is left to do.
//! - [`Claim::Row`]: the effect is keyed on its own row (an `ON CONFLICT DO NOTHING` insert, an
//!   `applied_at` flag, a newer vote) and answers `Ok(None)` when it finds it there.
//!
//! Either way nothing is committed for a re-delivery: the transaction is rolled back and the job
//! is [`Applied::AlreadyApplied`]. An error drops the transaction (rolled back) as it is.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Applied, outbox, store};
use crate::error::JobError;

/// How a re-delivery is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Claim `id` in `applied_commands` (recorded with `kind`) before the effect.
    Command {
        /// The command's id, minted by the API.
        id: Uuid,
        /// What kind of command (stored with the claim), e.g. `PROPOSAL_OPENED`.
        kind: &'static str,
    },
    /// The effect's own keyed write tells; the effect answers `Ok(None)` for a re-delivery.
    Row,
}

impl Claim {
    /// The claim of command `id`, recorded with `kind`.
    pub fn command(id: Uuid, kind: &'static str) -> Self {
        Self::Command { id, kind }
    }
}

/// The audit row describing an effect.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    /// `audit_log.action_type`, e.g. `VOTE_CAST`.
    pub action: &'static str,
    /// Who asked; `None` for the system.
    pub actor: Option<Uuid>,
    /// What kind of row it concerns, e.g. `proposal`.
    pub subject_type: &'static str,
    /// That row's id (`None`: the subject has no UUID, e.g. a queue, named in the details).
    pub subject_id: Option<Uuid>,
    /// Free-form details.
    pub details: Value,
}

/// One webhook event (an outbox row per subscribed endpoint).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event type, one of `coin_shared::webhooks::EVENT_TYPES`.
    pub event_type: &'static str,
    /// The event's `data`.
    pub data: Value,
}

/// What an applied effect leaves behind besides its own rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// The audit row.
    pub audit: Audit,
    /// The webhook events, in order.
    pub events: Vec<Event>,
}

impl Effect {
    /// An effect audited as `action` on the row `subject_id` of kind `subject_type`, by the
    /// system until [`by`](Self::by) names who asked, with empty details and no event.
    pub fn audit(
        action: &'static str,
        subject_type: &'static str,
        subject_id: impl Into<Option<Uuid>>,
    ) -> Self {
        Self {
            audit: Audit {
                action,
                actor: None,
                subject_type,
                subject_id: subject_id.into(),
                details: Value::Object(Default::default()),
            },
            events: Vec::new(),
        }
    }

    /// Who asked (`None`: the system).
    pub fn by(mut self, actor: impl Into<Option<Uuid>>) -> Self {
        self.audit.actor = actor.into();
        self
    }

    /// The audit row's details.
    pub fn details(mut self, details: Value) -> Self {
        self.audit.details = details;
        self
    }

    /// Adds a webhook event.
    pub fn emit(mut self, event_type: &'static str, data: Value) -> Self {
        self.events.push(Event { event_type, data });
        self
    }
}

/// Runs a keyed insert (`INSERT … ON CONFLICT DO NOTHING`): `true` when this delivery inserted
/// its row, `false` when an earlier one did.
pub async fn inserted(
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    tx: &mut PgConnection,
) -> Result<bool, JobError> {
    Ok(query.execute(tx).await?.rows_affected() > 0)
}

/// Applies `effect` exactly once: begins a transaction, claims per `claim`, runs the effect,
/// writes its audit and outbox rows and commits. `Ok(None)` from the effect (already applied,
/// or nothing to do by rule) rolls back and answers [`Applied::AlreadyApplied`].
pub async fn apply_once<F>(pool: &PgPool, claim: Claim, effect: F) -> Result<Applied, JobError>
where
    F: AsyncFnOnce(&mut PgConnection) -> Result<Option<Effect>, JobError>,
{
    let mut tx = pool.begin().await?;
    if let Claim::Command { id, kind } = claim
        && !store::claim_command(&mut tx, id, kind).await?
    {
        tx.rollback().await?;
        return Ok(Applied::AlreadyApplied);
    }
    let Some(Effect { audit, events }) = effect(&mut tx).await? else {
        tx.rollback().await?;
        return Ok(Applied::AlreadyApplied);
    };
    store::audit(
        &mut tx,
        audit.action,
        audit.actor,
        audit.subject_type,
        audit.subject_id,
        audit.details,
    )
    .await?;
    for event in events {
        outbox::emit(&mut tx, event.event_type, event.data).await?;
    }
    tx.commit().await?;
    Ok(Applied::Done)
}
