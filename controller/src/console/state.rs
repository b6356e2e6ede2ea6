//! What the console's handlers share: the pool, the queues, the loop's last observation, the
//! policy, the token verifier, the sessions and the shutdown signal. Its own module so every
//! page module can name it without depending on the router that mounts them.

use std::sync::Arc;

use coin_shared::{queue::JobQueue, schedules::CronSettings};
use sqlx::PgPool;
use tokio::sync::watch;

use super::{session, verifier::OperatorVerifier};
use crate::{control_loop::SharedObserved, decide::Policy};

/// What the console's handlers share.
#[derive(Clone)]
pub struct ConsoleState {
    /// Postgres: the decision log.
    pub pool: PgPool,
    /// The queues the operator acts on.
    pub queue: JobQueue,
    /// The loop's last snapshot and decision.
    pub observed: SharedObserved,
    /// The policy the loop decides with.
    pub policy: Arc<Policy>,
    /// The workers' cron schedules, as configured.
    pub schedules: Arc<CronSettings>,
    /// Verifies sign-in tokens.
    pub verifier: Arc<OperatorVerifier>,
    /// Live sessions.
    pub sessions: session::Sessions,
    /// Turns true at shutdown: live streams end so the server can stop.
    pub stopping: watch::Receiver<bool>,
}
