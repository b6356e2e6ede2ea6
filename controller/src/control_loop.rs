//! The evaluation loop: every interval, measure → decide → apply → record → export. A failing
//! source or scaler is logged and counted; the loop itself never stops until shutdown.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use coin_shared::jobs::ALL_QUEUES;
use sqlx::PgPool;
use tokio::sync::{RwLock, watch};

use crate::{
    decide::{Action, Decision, History, Policy, Reason, decide},
    export,
    measure::{HostSampler, QueueProbe, Rates, ScheduledSources, Snapshot, postgres, scheduled},
    record::{self, TickRecord},
    scale::Scaler,
    timeline::{Point, Timeline},
};

/// How long one measurement or scaler call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// How often old `controller_actions` rows are pruned.
const RETENTION_EVERY: Duration = Duration::from_secs(3_600);

/// What the Observability Node reads from the loop.
#[derive(Debug, Default)]
pub struct Observed {
    /// The last snapshot.
    pub snapshot: Option<Snapshot>,
    /// The last decision.
    pub decision: Option<Decision>,
    /// Whether the Kubernetes scaler reached its API server on the last tick.
    pub kubernetes_connected: bool,
    /// What the loop remembered when it made the last decision (the console's what-if decides
    /// again from it).
    pub history: Option<History>,
    /// The last hour, one point a tick (the console's chart).
    pub timeline: Timeline,
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

/// Everything one tick needs.
pub struct Controller {
    pool: PgPool,
    probe: Arc<dyn QueueProbe>,
    host: HostSampler,
    scaler: Scaler,
    policy: Policy,
    settings: LoopSettings,
    history: History,
    previous: Option<Snapshot>,
    observed: SharedObserved,
    last_pruned: Option<tokio::time::Instant>,
    scheduled: ScheduledSources,
}

impl Controller {
    /// A controller that has not measured anything yet.
    pub fn new(
        pool: PgPool,
        probe: Arc<dyn QueueProbe>,
        scaler: Scaler,
        policy: Policy,
        settings: LoopSettings,
        observed: SharedObserved,
    ) -> Self {
        Self {
            pool,
            probe,
            host: HostSampler::new(),
            scaler,
            policy,
            settings,
            history: History::new(Utc::now()),
            previous: None,
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

    /// Ticks every interval until `shutdown` turns true, then stops the scaler's workers.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        export::describe();
        match Timeline::load(&self.pool).await {
            Ok(timeline) => self.observed.write().await.timeline = timeline,
            Err(e) => tracing::warn!(error = %e, "could not read back the last hour's decisions"),
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
        self.scaler.shutdown().await;
    }

    /// One evaluation; returns the decision it made.
    pub async fn tick(&mut self) -> Decision {
        let _timer = export::TickTimer::start();
        let snapshot = self.measure().await;
        self.history.observe(self.previous.as_ref(), &snapshot);
        let decision = decide(&snapshot, &self.history, &self.policy, Utc::now());
        let (actions_taken, applied) = self.apply(&decision).await;
        self.history.record(&decision, applied, self.memory());
        log(&decision, &actions_taken);

        let record = TickRecord {
            snapshot: &snapshot,
            decision: &decision,
            actions_taken,
            scaler: self.scaler.kind().as_str(),
            dry_run: self.settings.dry_run,
        };
        let recorded = match record::insert(&self.pool, &record).await {
            Ok(id) => Some(id),
            Err(e) => {
                export::failure("record");
                tracing::warn!(error = %e, "could not record the controller decision");
                None
            }
        };
        export::publish(ALL_QUEUES, &snapshot, &decision);
        self.prune_if_due().await;

        let mut observed = self.observed.write().await;
        observed.kubernetes_connected = self.scaler.kubernetes_connected();
        observed.snapshot = Some(snapshot.clone());
        observed.decision = Some(decision.clone());
        observed.history = Some(self.history.clone());
        observed
            .timeline
            .push(Point::of(&snapshot, &decision, recorded));
        drop(observed);
        self.previous = Some(snapshot);
        decision
    }

    async fn measure(&mut self) -> Snapshot {
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
        let current_replicas = bounded(
            "scaler",
            "reading the current replicas",
            self.scaler.current(),
        )
        .await;
        let rates = self
            .previous
            .as_ref()
            .and_then(|p| p.queues.as_ref())
            .zip(queues.as_ref())
            .and_then(|(before, now)| Rates::between(before, now));
        Snapshot {
            at: Utc::now(),
            queues,
            rates,
            host: self.host.sample(),
            database,
            current_replicas,
            scheduled,
        }
    }

    /// Applies a decision unless it holds, runs dry or has no current count; returns what was
    /// done (or skipped, with why) and whether replicas changed.
    async fn apply(&mut self, decision: &Decision) -> (Vec<String>, bool) {
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
        if self.settings.dry_run {
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
                tracing::warn!(error = %e, "the scaler could not apply the decision");
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

/// Resolves once `shutdown` holds `true` (or its sender is gone).
pub async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    loop {
        let stop = *shutdown.borrow_and_update();
        if stop || shutdown.changed().await.is_err() {
            return;
        }
    }
}

fn log(decision: &Decision, actions_taken: &[String]) {
    let current = decision.current.map(i64::from).unwrap_or(-1);
    let notes = decision.notes.join("; ");
    let actions = actions_taken.join("; ");
    let routine = matches!(
        decision.reason,
        Reason::WithinTolerance | Reason::DesiredWithinRange
    );
    if decision.action == Action::Hold && routine {
        tracing::debug!(replicas.current = current, replicas.desired = decision.desired, reason = decision.reason.as_str(), %notes, %actions, "controller decision");
    } else {
        tracing::info!(replicas.current = current, replicas.desired = decision.desired, reason = decision.reason.as_str(), %notes, %actions, "controller decision");
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
