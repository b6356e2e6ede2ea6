//! Scheduled jobs (apalis-cron): every replica runs every schedule, so each one makes its effect
//! exactly-once itself.
//!
//! - `relay` (every second): moves outbox rows into the queues. Rows are taken with
//!   `FOR UPDATE SKIP LOCKED` and pushed under their own id (a push of a known id adds nothing),
//!   so concurrent replicas never enqueue a row twice.
//! - `auto_close`, `reconciliation`, `retention`: each tick is claimed in `schedule_runs`
//!   (primary key (schedule, tick)); the replica whose INSERT wins runs it, the others skip it.
//!   A tick that fails after its claim is not re-run: the next tick catches up.
//! - `distribution`: the period key (the tick) is unique in `distribution_periods`, and the
//!   period, its chunks and the claim are one transaction.

pub mod auto_close;
pub mod distribution;
pub mod reconciliation;
pub mod relay;
pub mod retention;
pub mod runs;

use std::{future::Future, pin::Pin, str::FromStr};

use apalis_core::{error::BoxDynError, task::data::Data};
use apalis_cron::Tick;

use crate::{context::JobContext, settings::ScheduleSettings};

/// A schedule's tick function, boxed so that every schedule has the same type.
pub type TickFn =
    fn(Tick, Data<JobContext>) -> Pin<Box<dyn Future<Output = Result<String, BoxDynError>> + Send>>;

/// One schedule: its name, the setting that holds its cron expression, and its tick.
#[derive(Debug, Clone, Copy)]
pub struct Cron<'a> {
    /// The schedule's name (in its worker's name).
    pub name: &'static str,
    /// The setting holding its expression, for error messages, e.g. `RELAY_CRON`.
    pub env: &'static str,
    /// The cron expression (seconds first); empty turns the schedule off.
    pub expression: &'a str,
    /// What a tick does.
    pub tick: TickFn,
}

/// The [`Cron`] of schedule module `$module`: its name, the setting (and its variable) holding
/// its expression, and its `tick` boxed into a [`TickFn`].
macro_rules! cron {
    ($name:literal, $env:literal, $expression:expr, $module:ident) => {
        Cron {
            name: $name,
            env: $env,
            expression: $expression,
            tick: |t, c| Box::pin($module::tick(t, c)),
        }
    };
}

/// Every schedule the worker runs, in registration order.
pub fn all(settings: &ScheduleSettings) -> [Cron<'_>; 5] {
    [
        cron!("relay", "RELAY_CRON", &settings.relay_cron, relay),
        cron!(
            "auto-close",
            "AUTO_CLOSE_CRON",
            &settings.auto_close_cron,
            auto_close
        ),
        cron!(
            "distribution",
            "DISTRIBUTION_CRON",
            &settings.distribution_cron,
            distribution
        ),
        cron!(
            "reconciliation",
            "RECONCILIATION_CRON",
            &settings.reconciliation_cron,
            reconciliation
        ),
        cron!(
            "retention",
            "RETENTION_CRON",
            &settings.retention_cron,
            retention
        ),
    ]
}

/// Parses a cron expression (seconds first); `None` when it is empty (schedule off).
pub fn parse(name: &str, expression: &str) -> anyhow::Result<Option<cron::Schedule>> {
    let expression = expression.trim();
    if expression.is_empty() {
        return Ok(None);
    }
    cron::Schedule::from_str(expression).map(Some).map_err(|e| {
        anyhow::anyhow!(
            "invalid cron expression for {name}: `{expression}` ({e}); expressions have 6 or 7 \
             fields, seconds first, e.g. `0 0 0 * * Mon`"
        )
    })
}
