//! Measurement: one [`Snapshot`] per tick of queues, host, Postgres, replicas and the work the
//! schedules are about to enqueue. Each source may fail on its own; a missing part is `None` and
//! the decision knows what to do without it.

pub mod host;
pub mod postgres;
pub mod queues;
pub mod rates;
pub mod scheduled;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use host::{HostMetrics, HostSampler};
pub use postgres::DatabaseMetrics;
pub use queues::{QueueProbe, QueueStats, QueueTotals};
pub use rates::Rates;
pub use scheduled::{ScheduledSources, ScheduledWork};

/// Everything the controller saw in one tick.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// When the measurement finished.
    pub at: DateTime<Utc>,
    /// Per-queue depths, `None` when Redis did not answer.
    pub queues: Option<QueueTotals>,
    /// Arrival and completion rates since the previous snapshot, `None` on the first tick or
    /// when either snapshot lacks queue data.
    pub rates: Option<Rates>,
    /// Host CPU, memory, disk and load.
    pub host: Option<HostMetrics>,
    /// Postgres activity.
    pub database: Option<DatabaseMetrics>,
    /// Replicas the scaler reports, `None` when it could not be asked.
    pub current_replicas: Option<u32>,
    /// Coming runs of schedules that fan out jobs, within the pre-scaling lead, with the jobs
    /// each will enqueue; `None` when Postgres could not count them.
    pub scheduled: Option<Vec<ScheduledWork>>,
}
