//! The evaluation loop: every interval, measure → decide → apply → record → export. A failing
//! source or scaler is logged and counted; the loop itself never stops until shutdown.
//!
//! It manages one or more worker pools (`WORKER_POOLS`): the queues, host and Postgres are
//! measured once a tick; then each pool is decided on from the measurement of its own queues,
//! with its own history, policy and scaler, and recorded and exported under its name.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use coin_shared::jobs::ALL_QUEUES;
use sqlx::PgPool;
use tokio::sync::{RwLock, watch};

use crate::{
    decide::{Action, Decision, History, Policy, Reason, decide},
    export,
    measure::{
        HostMetrics, HostSampler, QueueProbe, QueueTotals, Rates, ScheduledSources, Snapshot,
        postgres, scheduled,
    },
    pools::PoolSpec,
    record::{self, TickRecord},
    scale::Scaler,
    timeline::{Point, Timeline},
};

/// How long one measurement or scaler call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// How often old `controller_actions` rows are pruned.
const RETENTION_EVERY: Duration = Duration::from_secs(3_600);

/// What the Observability Node reads from the loop. The single-pool fields (`snapshot`,
/// `decision`, `history`, `timeline`) are those of the first pool; `pools` has every pool's.
#[derive(Debug, Default)]
pub struct Observed {
    /// The last snapshot of the first pool.
    pub snapshot: Option<Snapshot>,
    /// The last decision of the first pool.
    pub decision: Option<Decision>,
    /// The last decision of every pool, in the order of `WORKER_POOLS`.
    pub pools: Vec<PoolObserved>,
    /// Whether the Kubernetes scalers (every pool's) reached their API server on the last tick.
    pub kubernetes_connected: bool,
    /// What the loop remembered when it made the last decision (the console's what-if decides
    /// again from it).
    pub history: Option<History>,
    /// The last hour of the first pool, one point a tick (the console's chart).
    pub timeline: Timeline,
}

impl Observed {
    /// Every queue as the last tick measured it, over all pools (`None` before the first tick
    /// or when Redis did not answer).
    pub fn queues(&self) -> Option<QueueTotals> {
        let mut measured = self.pools.iter().filter_map(|p| p.snapshot.queues.as_ref());
        let first = measured.next()?.clone();
        Some(measured.fold(first, |mut all, q| {
            all.by_queue
                .extend(q.by_queue.iter().map(|(name, s)| (name.clone(), *s)));
            all
        }))
    }

    /// Replicas `(current, desired)` summed over the pools; current is `None` when a pool's
    /// is unknown, both are `None` before the first tick.
    pub fn replicas(&self) -> (Option<u32>, Option<u32>) {
        if self.pools.is_empty() {
            return (None, None);
        }
        let current = self.pools.iter().map(|p| p.decision.current).sum();
        let desired = self.pools.iter().map(|p| p.decision.desired).sum();
        (current, Some(desired))
    }
}

/// One pool's last tick, as the loop saw it.
#[derive(Debug, Clone)]
pub struct PoolObserved {
    /// The pool.
    pub spec: PoolSpec,
    /// Its last snapshot (its queues only).
    pub snapshot: Snapshot,
    /// Its last decision.
    pub decision: Decision,
}

/// Shared, read-mostly view of the loop.
pub type SharedObserved = Arc<RwLock<Observed>>;

/// Knobs of the loop that are not part of the decision policy.
#[derive(Debug, Clone)]
pub struct LoopSettings {
    /// Time between ticks.
    pub interval: Duration,
    /// Decide and record without applying.
    pub dry_run: bool,
    /// Days of `controller_actions` to keep.
    pub retention_days: u32,
}

/// A worker pool as the loop is given it: what it serves, how it scales, how it is decided.
pub struct PoolSetup {
    /// Its name, queues and bounds.
    pub spec: PoolSpec,
    /// What applies its decisions.
    pub scaler: Scaler,
    /// Its policy (the configured one within its bounds).
    pub policy: Policy,
}

/// One pool's decision state between ticks.
struct PoolState {
    spec: PoolSpec,
    scaler: Scaler,
    policy: Policy,
    history: History,
    previous: Option<Snapshot>,
}

/// What a tick measured once for every pool.
struct Shared {
    queues: Option<QueueTotals>,
    database: Option<postgres::DatabaseMetrics>,
    scheduled: Option<Vec<scheduled::ScheduledWork>>,
}

/// Everything one tick needs.
pub struct Controller {
    pool: PgPool,
    probe: Arc<dyn QueueProbe>,
    host: HostSampler,
    pools: Vec<PoolState>,
    settings: LoopSettings,
    /// Every queue's last measurement, for the rates of the whole system.
    previous_queues: Option<QueueTotals>,
    observed: SharedObserved,
    last_pruned: Option<tokio::time::Instant>,
    scheduled: ScheduledSources,
}

impl Controller {
    /// A controller of `pools` (at least one; the first is the one the single-pool views show)
    /// that has not measured anything yet.
    pub fn new(
        pool: PgPool,
        probe: Arc<dyn QueueProbe>,
        pools: Vec<PoolSetup>,
        settings: LoopSettings,
        observed: SharedObserved,
    ) -> Self {
        let now = Utc::now();
        Self {
            pool,
            probe,
            host: HostSampler::new(),
            pools: pools
                .into_iter()
                .map(|p| PoolState {
                    spec: p.spec,
                    scaler: p.scaler,
                    policy: p.policy,
                    history: History::new(now),
                    previous: None,
                })
                .collect(),
            settings,
            previous_queues: None,
            observed,
            last_pruned: None,
            scheduled: ScheduledSources::none(),
        }
    }

    /// Measures the work the schedules in `sources` are about to enqueue, so the decision can
    /// scale ahead of it (none by default).
    pub fn with_scheduled(mut self, sources: ScheduledSources) -> Self {
        self.scheduled = sources;
        self
    }

    /// Ticks every interval until `shutdown` turns true, then stops the scalers' workers.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        export::describe();
        if let Some(first) = self.pools.first() {
            match Timeline::load(&self.pool, &first.spec.name).await {
                Ok(timeline) => self.observed.write().await.timeline = timeline,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read back the last hour's decisions")
                }
            }
        }
        let mut ticker = tokio::time::interval(self.settings.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => { self.tick().await; }
                () = stop_requested(&mut shutdown) => break,
            }
        }
        tracing::info!("controller loop stopping; draining local workers if any");
        // Every pool's workers drain at once.
        futures::future::join_all(self.pools.iter_mut().map(|p| p.scaler.shutdown())).await;
    }

    /// One evaluation; returns the decision it made for each pool, in their order.
    pub async fn tick(&mut self) -> Vec<Decision> {
        let _timer = export::TickTimer::start();
        let shared = self.measure_shared().await;
        let host = self.host.sample();
        let rates = self
            .previous_queues
            .as_ref()
            .zip(shared.queues.as_ref())
            .and_then(|(before, now)| Rates::between(before, now));
        export::publish_system(rates, host, shared.database);
        let mut decisions = Vec::with_capacity(self.pools.len());
        let mut observed_pools = Vec::with_capacity(self.pools.len());
        let mut first_recorded = None;
        for (index, state) in self.pools.iter_mut().enumerate() {
            let (snapshot, decision, recorded) = state
                .tick(&shared, host, &self.pool, self.settings.dry_run)
                .await;
            if index == 0 {
                first_recorded = recorded;
            }
            observed_pools.push(PoolObserved {
                spec: state.spec.clone(),
                snapshot,
                decision: decision.clone(),
            });
            decisions.push(decision);
        }
        self.previous_queues = shared.queues;
        self.prune_if_due().await;

        let mut observed = self.observed.write().await;
        observed.kubernetes_connected =
            !self.pools.is_empty() && self.pools.iter().all(|p| p.scaler.kubernetes_connected());
        if let (Some(first), Some(state)) = (observed_pools.first(), self.pools.first()) {
            observed.snapshot = Some(first.snapshot.clone());
            observed.decision = Some(first.decision.clone());
            observed.history = Some(state.history.clone());
            let point = Point::of(&first.snapshot, &first.decision, first_recorded);
            observed.timeline.push(point);
        }
        observed.pools = observed_pools;
        drop(observed);
        decisions
    }

    /// What every pool shares: the queues (all of them, once), Postgres and the coming
    /// scheduled work.
    async fn measure_shared(&mut self) -> Shared {
        let queues = bounded(
            "queues",
            "measuring the queues",
            self.probe.measure(ALL_QUEUES),
        )
        .await;
        let database = bounded(
            "database",
            "measuring Postgres",
            postgres::measure(&self.pool),
        )
        .await;
        let scheduled = bounded(
            "scheduled",
            "counting the work of the coming schedules",
            scheduled::measure(&self.pool, &self.scheduled, Utc::now()),
        )
        .await;
        Shared {
            queues,
            database,
            scheduled,
        }
    }
    async fn prune_if_due(&mut self) {
        if self
            .last_pruned
            .is_some_and(|at| at.elapsed() < RETENTION_EVERY)
        {
            return;
        }
        self.last_pruned = Some(tokio::time::Instant::now());
        match record::prune(&self.pool, Utc::now(), self.settings.retention_days).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(rows = deleted, "pruned old controller_actions rows"),
            Err(e) => {
                export::failure("retention");
                tracing::warn!(error = %e, "could not prune controller_actions");
            }
        }
    }
}

impl PoolState {
    /// The pool's part of a tick: measure (from `shared`), decide, apply, record into `db`
    /// and export; returns its snapshot, its decision and the id of its row when recorded.
    async fn tick(
        &mut self,
        shared: &Shared,
        host: Option<HostMetrics>,
        db: &PgPool,
        dry_run: bool,
    ) -> (Snapshot, Decision, Option<i64>) {
        let snapshot = self.measure(shared, host).await;
        self.history.observe(self.previous.as_ref(), &snapshot);
        let decision = decide(&snapshot, &self.history, &self.policy, Utc::now());
        let (actions_taken, applied) = self.apply(&decision, dry_run).await;
        let memory = self.memory();
        self.history.record(&decision, applied, memory);
        log(&self.spec.name, &decision, &actions_taken);
        let record = TickRecord {
            pool: &self.spec.name,
            snapshot: &snapshot,
            decision: &decision,
            actions_taken,
            scaler: self.scaler.kind().as_str(),
            dry_run,
        };
        let recorded = match record::insert(db, &record).await {
            Ok(id) => Some(id),
            Err(e) => {
                export::failure("record");
                tracing::warn!(error = %e, pool = %self.spec.name, "could not record the controller decision");
                None
            }
        };
        export::publish(&self.spec.name, &self.spec.queues, &snapshot, &decision);
        self.previous = Some(snapshot.clone());
        (snapshot, decision, recorded)
    }

    /// The pool's snapshot: the shared measurement restricted to its queues (and to the
    /// scheduled work that goes to them), with its scaler's replicas.
    async fn measure(&mut self, shared: &Shared, host: Option<HostMetrics>) -> Snapshot {
        let current_replicas = bounded(
            "scaler",
            "reading the current replicas",
            self.scaler.current(),
        )
        .await;
        let queues = shared.queues.as_ref().map(|q| q.only(&self.spec.queues));
        let rates = self
            .previous
            .as_ref()
            .and_then(|p| p.queues.as_ref())
            .zip(queues.as_ref())
            .and_then(|(before, now)| Rates::between(before, now));
        let scheduled = shared.scheduled.as_ref().map(|work| {
            work.iter()
                .filter(|w| self.spec.queues.contains(&w.queue))
                .cloned()
                .collect()
        });
        Snapshot {
            at: Utc::now(),
            queues,
            rates,
            host,
            database: shared.database,
            current_replicas,
            scheduled,
        }
    }

    /// Applies a decision unless it holds, runs dry or has no current count; returns what was
    /// done (or skipped, with why) and whether replicas changed.
    async fn apply(&mut self, decision: &Decision, dry_run: bool) -> (Vec<String>, bool) {
        let (Some(current), Action::ScaleUp | Action::ScaleDown) =
            (decision.current, decision.action)
        else {
            let why = format!(
                "Skipped: {} at {} replicas ({})",
                decision.action.as_str(),
                decision.desired,
                decision.reason.as_str()
            );
            return (vec![why], false);
        };
        if dry_run {
            let why = format!(
                "Skipped (dry run): would scale {current} -> {}",
                decision.desired
            );
            return (vec![why], false);
        }
        match tokio::time::timeout(CALL_TIMEOUT, self.scaler.scale_to(decision.desired)).await {
            Ok(Ok(done)) => (vec![done], true),
            Ok(Err(e)) => {
                export::failure("scaler");
                tracing::warn!(error = %e, pool = %self.spec.name, "the scaler could not apply the decision");
                (vec![format!("Failed: {e}")], false)
            }
            Err(_) => {
                export::failure("scaler");
                (vec!["Failed: the scaler timed out".to_owned()], false)
            }
        }
    }

    /// How long the history must remember: the longest window it is asked about.
    fn memory(&self) -> Duration {
        self.policy
            .scale_down_stabilization
            .max(self.policy.scale_up_stabilization)
            .max(self.policy.scale_up_period)
    }
}

/// Resolves once `shutdown` holds `true` (or its sender is gone).
pub async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    loop {
        let stop = *shutdown.borrow_and_update();
        if stop || shutdown.changed().await.is_err() {
            return;
        }
    }
}

fn log(pool: &str, decision: &Decision, actions_taken: &[String]) {
    let current = decision.current.map(i64::from).unwrap_or(-1);
    let notes = decision.notes.join("; ");
    let actions = actions_taken.join("; ");
    let routine = matches!(
        decision.reason,
        Reason::WithinTolerance | Reason::DesiredWithinRange
    );
    if decision.action == Action::Hold && routine {
        tracing::debug!(pool, replicas.current = current, replicas.desired = decision.desired, reason = decision.reason.as_str(), %notes, %actions, "controller decision");
    } else {
        tracing::info!(pool, replicas.current = current, replicas.desired = decision.desired, reason = decision.reason.as_str(), %notes, %actions, "controller decision");
    }
}

/// Runs one measurement within `CALL_TIMEOUT`; a failure or a timeout is counted under
/// `source`, logged, and reads as "unknown" (`None`), which the decision treats as such.
async fn bounded<T, E: std::fmt::Display>(
    source: &'static str,
    what: &'static str,
    call: impl Future<Output = Result<T, E>>,
) -> Option<T> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(e)) => {
            export::failure(source);
            tracing::warn!(error = %e, "{what} failed");
            None
        }
        Err(_) => {
            export::failure(source);
            tracing::warn!("{what} timed out");
            None
        }
    }
}
