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

use std::{future::Future, pin::Pin};

use apalis_core::{error::BoxDynError, task::data::Data};
use apalis_cron::Tick;
use coin_shared::schedules::{Schedule, ScheduleKind};

use crate::{context::JobContext, settings::ScheduleSettings};

/// A schedule's tick function, boxed so that every schedule has the same type.
pub type TickFn =
    fn(Tick, Data<JobContext>) -> Pin<Box<dyn Future<Output = Result<String, BoxDynError>> + Send>>;

/// What a tick of `kind` does.
fn tick_of(kind: ScheduleKind) -> TickFn {
    match kind {
        ScheduleKind::Relay => |t, c| Box::pin(relay::tick(t, c)),
        ScheduleKind::AutoClose => |t, c| Box::pin(auto_close::tick(t, c)),
        ScheduleKind::Distribution => |t, c| Box::pin(distribution::tick(t, c)),
        ScheduleKind::Reconciliation => |t, c| Box::pin(reconciliation::tick(t, c)),
        ScheduleKind::Retention => |t, c| Box::pin(retention::tick(t, c)),
    }
}

/// Every schedule the worker runs (the shared catalogue, `coin_shared::schedules`), each with
/// its tick, in registration order.
pub fn all(settings: &ScheduleSettings) -> [(Schedule<'_>, TickFn); 5] {
    settings.cron.all().map(|s| (s, tick_of(s.kind)))
}
