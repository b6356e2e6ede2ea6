//! `SCALER=process`, the single-machine default: runs `coin-worker` as child processes.
//!
//! A worker is stopped with SIGTERM and then waited for in the background: the worker finishes
//! its in-flight jobs within its own grace period and exits. It is never sent SIGKILL, so a busy
//! worker cannot lose a job half-way. A scale-down stops the idlest workers (fewest jobs in
//! flight in the worker registry, matched by pid; the newest among equals), so the busy ones
//! keep working and the stopped ones drain fast.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
};

use nix::{sys::signal::Signal, unistd::Pid};
use tokio::{
    process::{Child, Command},
    task::JoinSet,
};

use super::error::ScaleError;
use super::registry::{self, WorkerLoad, WorkerRegistry};
use super::victims::idlest;
use crate::pools::{DEFAULT_POOL, PoolSpec};

/// How worker processes are started.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// The `coin-worker` executable.
    pub binary: PathBuf,
    /// Variables set on every worker (the rest of the controller's environment is inherited).
    pub env: Vec<(String, String)>,
    /// First `WORKER_METRICS_PORT`; each worker gets the next free slot. 0: every worker picks
    /// a free port.
    pub metrics_port_base: u16,
    /// Each worker's `WORKER_ID_PREFIX` is this, `-`, its slot.
    pub id_prefix: String,
}

impl ProcessConfig {
    /// The id prefix of the workers of the `default` pool (and of a single pool).
    pub const DEFAULT_ID_PREFIX: &str = "coin-worker-local";

    /// This configuration for the workers of `pool`: they serve its queues only
    /// (`WORKER_QUEUES`, unless it serves every queue) and their ids name it
    /// (`coin-worker-<pool>-<slot>`; the `default` pool keeps [`Self::DEFAULT_ID_PREFIX`]).
    pub fn for_pool(mut self, pool: &PoolSpec) -> Self {
        if !pool.serves_all() {
            self.env.retain(|(k, _)| k != "WORKER_QUEUES");
            self.env
                .push(("WORKER_QUEUES".to_owned(), pool.worker_queues()));
        }
        if pool.name != DEFAULT_POOL {
            self.id_prefix = format!("coin-worker-{}", pool.name);
        }
        self
    }

    /// `coin-worker` next to the running executable (or next to its parent directory, which is
    /// where Cargo puts binaries relative to test executables in `deps/`).
    pub fn default_binary() -> PathBuf {
        let exe = std::env::current_exe().unwrap_or_default();
        let dir = exe.parent().unwrap_or_else(|| Path::new("."));
        let beside = dir.join("coin-worker");
        if beside.exists() {
            return beside;
        }
        dir.parent()
            .map(|up| up.join("coin-worker"))
            .filter(|p| p.exists())
            .unwrap_or(beside)
    }
}

struct Worker {
    child: Child,
    slot: u16,
}

/// Local worker processes.
pub struct ProcessScaler {
    config: ProcessConfig,
    registry: Option<Arc<dyn WorkerRegistry>>,
    /// Oldest first.
    running: Vec<Worker>,
    stopping: JoinSet<u16>,
    stopping_slots: Vec<u16>,
}

impl ProcessScaler {
    /// A scaler that runs no worker yet.
    pub fn new(config: ProcessConfig) -> Self {
        Self {
            config,
            registry: None,
            running: Vec::new(),
            stopping: JoinSet::new(),
            stopping_slots: Vec::new(),
        }
    }

    /// Reads `registry` before each scale-down to stop the idlest workers (without one, the
    /// newest go first).
    pub fn with_registry(mut self, registry: Arc<dyn WorkerRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Pids of the workers running and not asked to stop, oldest first.
    pub fn pids(&mut self) -> Vec<u32> {
        self.reap();
        self.running.iter().filter_map(|w| w.child.id()).collect()
    }

    /// Workers running and not asked to stop; forgets those that exited by themselves.
    pub fn current(&mut self) -> u32 {
        self.reap();
        u32::try_from(self.running.len()).unwrap_or(u32::MAX)
    }

    /// Workers asked to stop that are still draining.
    pub fn draining(&mut self) -> usize {
        self.reap();
        self.stopping.len()
    }

    /// Starts or stops workers until `replicas` run; a scale-down stops the idlest. Says what
    /// it did, and when the registry could not be read (the newest went first then).
    pub async fn scale_to(&mut self, replicas: u32) -> Result<String, ScaleError> {
        let from = self.current();
        let target = usize::try_from(replicas).unwrap_or(usize::MAX);
        while self.running.len() < target {
            self.spawn()?;
        }
        let mut done = format!("Scaled local coin-worker processes from {from} to {replicas}");
        if self.running.len() > target {
            let loads = match registry::read(self.registry.as_deref()).await {
                Ok(loads) => loads,
                Err(e) => {
                    tracing::warn!(error = %e, "stopping the newest workers, not the idlest");
                    done.push_str(&format!(" (newest first: {e})"));
                    Vec::new()
                }
            };
            let stopped = self.stop_idlest(self.running.len() - target, &loads)?;
            done.push_str(&format!("; stopped the idlest: {}", stopped.join(", ")));
        }
        Ok(done)
    }

    /// Sends SIGTERM to the `remove` running workers with the fewest jobs in flight by `loads`
    /// (the newest among equals); returns `pid (n in flight)` of each.
    fn stop_idlest(
        &mut self,
        remove: usize,
        loads: &[WorkerLoad],
    ) -> Result<Vec<String>, ScaleError> {
        // Candidates newest first, so that equals keep the old newest-first order.
        let newest_first: Vec<usize> = (0..self.running.len()).rev().collect();
        let inflight: Vec<u64> = newest_first
            .iter()
            .map(|&i| {
                let pid = self.running[i].child.id();
                registry::inflight(loads, |l| Some(l.pid) == pid)
            })
            .collect();
        let mut chosen: Vec<(usize, u64)> = idlest(&inflight, remove)
            .into_iter()
            .map(|c| (newest_first[c], inflight[c]))
            .collect();
        // Take them out from the back so the positions left stay valid.
        chosen.sort_unstable_by_key(|&(position, _)| std::cmp::Reverse(position));
        let mut stopped = Vec::with_capacity(chosen.len());
        for (position, held) in chosen {
            let worker = self.running.remove(position);
            let pid = worker.child.id().unwrap_or(0);
            self.stop(worker)?;
            stopped.push(format!("pid {pid} ({held} in flight)"));
        }
        Ok(stopped)
    }

    /// Sends SIGTERM to every worker and waits until all have exited.
    pub async fn shutdown(&mut self) {
        while let Some(worker) = self.running.pop() {
            if let Err(e) = self.stop(worker) {
                tracing::warn!(error = %e, "could not stop a worker process");
            }
        }
        while let Some(joined) = self.stopping.join_next().await {
            if let Ok(slot) = joined {
                self.stopping_slots.retain(|s| *s != slot);
            }
        }
    }

    fn spawn(&mut self) -> Result<(), ScaleError> {
        let slot = self.free_slot();
        let port = if self.config.metrics_port_base == 0 {
            0
        } else {
            self.config.metrics_port_base.saturating_add(slot)
        };
        let child = Command::new(&self.config.binary)
            .envs(self.config.env.iter().map(|(k, v)| (k, v)))
            .env("WORKER_METRICS_PORT", port.to_string())
            .env(
                "WORKER_ID_PREFIX",
                format!("{}-{slot}", self.config.id_prefix),
            )
            .stdin(Stdio::null())
            .kill_on_drop(false)
            .spawn()
            .map_err(|source| ScaleError::Spawn {
                binary: self.config.binary.display().to_string(),
                source,
            })?;
        tracing::info!(
            worker.pid = child.id(),
            worker.slot = slot,
            "started a coin-worker process"
        );
        self.running.push(Worker { child, slot });
        Ok(())
    }

    fn stop(&mut self, mut worker: Worker) -> Result<(), ScaleError> {
        if let Some(pid) = worker.child.id() {
            terminate(pid)?;
            tracing::info!(
                worker.pid = pid,
                "sent SIGTERM to a coin-worker process; it drains"
            );
        }
        let slot = worker.slot;
        self.stopping_slots.push(slot);
        self.stopping.spawn(async move {
            match worker.child.wait().await {
                Ok(status) => {
                    tracing::info!(%status, worker.slot = slot, "a coin-worker process exited")
                }
                Err(e) => tracing::warn!(error = %e, "could not wait for a coin-worker process"),
            }
            slot
        });
        Ok(())
    }

    fn reap(&mut self) {
        self.running.retain_mut(|worker| match worker.child.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                tracing::warn!(%status, worker.slot = worker.slot, "a coin-worker process exited by itself");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not check a coin-worker process");
                true
            }
        });
        while let Some(joined) = self.stopping.try_join_next() {
            if let Ok(slot) = joined {
                self.stopping_slots.retain(|s| *s != slot);
            }
        }
    }

    fn free_slot(&self) -> u16 {
        (0..=u16::MAX)
            .find(|slot| {
                !self.running.iter().any(|w| w.slot == *slot) && !self.stopping_slots.contains(slot)
            })
            .unwrap_or(u16::MAX)
    }
}

impl Drop for ProcessScaler {
    /// Never leaves workers behind: each gets SIGTERM (they drain on their own).
    fn drop(&mut self) {
        for worker in &self.running {
            if let Some(pid) = worker.child.id() {
                let _ = terminate(pid);
            }
        }
    }
}

fn terminate(pid: u32) -> Result<(), ScaleError> {
    let raw = i32::try_from(pid).map_err(|_| ScaleError::Signal {
        pid,
        source: nix::errno::Errno::ESRCH,
    })?;
    nix::sys::signal::kill(Pid::from_raw(raw), Signal::SIGTERM)
        .map_err(|source| ScaleError::Signal { pid, source })
}

#[cfg(test)]
mod tests {
    //! A shell script stands in for `coin-worker`: the scaler's bookkeeping does not depend on
    //! what the process does, only on its starting, exiting on SIGTERM and being waited for.

    use std::{os::unix::fs::PermissionsExt, time::Duration};

    use crate::scale::{error::ScaleError, process::*, registry::WorkerLoad};

    fn fake_worker(name: &str, port_base: u16) -> ProcessScaler {
        let script =
            std::env::temp_dir().join(format!("fake-coin-worker-{name}-{}", std::process::id()));
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").expect("write script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        ProcessScaler::new(ProcessConfig {
            binary: script,
            env: vec![("QUEUE_NAMESPACE".into(), "unused".into())],
            metrics_port_base: port_base,
            id_prefix: ProcessConfig::DEFAULT_ID_PREFIX.to_owned(),
        })
    }

    async fn until_drained(scaler: &mut ProcessScaler) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while scaler.draining() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "workers ignored SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    #[tokio::test]
    async fn scaling_up_and_down_starts_and_terminates_processes() {
        let mut scaler = fake_worker("updown", 0);
        assert_eq!(scaler.current(), 0);
        scaler.scale_to(3).await.expect("spawn");
        assert_eq!(scaler.current(), 3);
        scaler.scale_to(1).await.expect("stop");
        assert_eq!(scaler.current(), 1);
        until_drained(&mut scaler).await;
        scaler.shutdown().await;
        assert_eq!((scaler.current(), scaler.draining()), (0, 0));
    }

    #[tokio::test]
    async fn each_worker_gets_its_own_metrics_port_slot_and_slots_are_reused() {
        let mut scaler = fake_worker("slots", 9_700);
        scaler.scale_to(3).await.expect("spawn");
        scaler.scale_to(2).await.expect("stop one");
        until_drained(&mut scaler).await;
        scaler.scale_to(3).await.expect("spawn again");
        let mut slots: Vec<u16> = scaler.running.iter().map(|w| w.slot).collect();
        slots.sort_unstable();
        assert_eq!(slots, vec![0, 1, 2]);
        scaler.shutdown().await;
    }

    #[tokio::test]
    async fn a_missing_binary_is_a_spawn_error() {
        let mut scaler = fake_worker("missing", 0);
        scaler.config.binary = PathBuf::from("/nonexistent/coin-worker");
        let error = scaler.scale_to(1).await.expect_err("no binary");
        assert!(matches!(error, ScaleError::Spawn { .. }), "{error}");
    }

    fn load(pid: u32, inflight: u64) -> WorkerLoad {
        WorkerLoad {
            host: "this-host".into(),
            pid,
            inflight,
        }
    }

    #[tokio::test]
    async fn a_scale_down_stops_the_workers_with_the_fewest_jobs_in_flight() {
        let mut scaler = fake_worker("idlest", 0);
        scaler.scale_to(4).await.expect("spawn");
        let pids = scaler.pids();
        // The oldest and the newest are busy, the middle two idle (one has not announced).
        scaler.registry = Some(Arc::new(vec![
            load(pids[0], 7),
            load(pids[1], 0),
            load(pids[3], 2),
        ]));
        let done = scaler.scale_to(2).await.expect("stop two");
        assert_eq!(scaler.pids(), vec![pids[0], pids[3]], "{done}");
        assert!(done.contains("0 in flight"), "{done}");
        // Then the less busy of the two.
        scaler.scale_to(1).await.expect("stop one");
        assert_eq!(scaler.pids(), vec![pids[0]]);
        scaler.shutdown().await;
    }

    #[tokio::test]
    async fn without_registry_entries_the_newest_go_first() {
        let mut scaler = fake_worker("newest", 0);
        scaler.registry = Some(Arc::new(Vec::new()));
        scaler.scale_to(3).await.expect("spawn");
        let pids = scaler.pids();
        scaler.scale_to(1).await.expect("stop two");
        assert_eq!(scaler.pids(), vec![pids[0]]);
        scaler.shutdown().await;
    }

    #[tokio::test]
    async fn the_workers_of_a_pool_serve_its_queues_and_carry_its_name() {
        let out = std::env::temp_dir().join(format!("pool-env-{}", std::process::id()));
        std::fs::create_dir_all(&out).expect("dir");
        let script = out.join("fake-coin-worker");
        std::fs::write(
            &script,
            "#!/bin/sh\necho \"${WORKER_QUEUES-unset} $WORKER_ID_PREFIX\" > \"$OUT/$$\"\nexec sleep 30\n",
        )
        .expect("write script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let config = ProcessConfig {
            binary: script,
            env: vec![
                ("OUT".into(), out.display().to_string()),
                // The controller's own WORKER_QUEUES is not the pool's.
                ("WORKER_QUEUES".into(), "votes".into()),
            ],
            metrics_port_base: 0,
            id_prefix: ProcessConfig::DEFAULT_ID_PREFIX.to_owned(),
        };
        let pools: crate::pools::WorkerPools = "goodwill=goodwill+distribution@0-2;default=*@1-1"
            .parse()
            .expect("valid");
        let seen = |scaler: &mut ProcessScaler| {
            let pids = scaler.pids();
            let out = out.clone();
            async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                let mut lines = Vec::new();
                for pid in pids {
                    let file = out.join(pid.to_string());
                    let line = loop {
                        match std::fs::read_to_string(&file) {
                            Ok(line) if line.ends_with('\n') => break line,
                            _ => {
                                assert!(tokio::time::Instant::now() < deadline, "{file:?}");
                                tokio::time::sleep(Duration::from_millis(25)).await;
                            }
                        }
                    };
                    lines.push(line.trim().to_owned());
                }
                lines
            }
        };

        let mut goodwill = ProcessScaler::new(config.clone().for_pool(&pools.specs()[0]));
        goodwill.scale_to(2).await.expect("spawn");
        assert_eq!(
            seen(&mut goodwill).await,
            [
                "goodwill,distribution coin-worker-goodwill-0",
                "goodwill,distribution coin-worker-goodwill-1"
            ]
        );
        // `*` resolves to the rest only: the default pool's workers are told those.
        let mut rest = ProcessScaler::new(config.clone().for_pool(&pools.specs()[1]));
        rest.scale_to(1).await.expect("spawn");
        assert_eq!(
            seen(&mut rest).await,
            ["votes,governance,webhooks,operations coin-worker-local-0"]
        );
        // The single default pool serves every queue: its workers get no WORKER_QUEUES of ours.
        let mut all = ProcessScaler::new(
            ProcessConfig {
                env: vec![("OUT".into(), out.display().to_string())],
                ..config
            }
            .for_pool(&crate::pools::PoolSpec::default_pool(1, 1)),
        );
        all.scale_to(1).await.expect("spawn");
        assert_eq!(seen(&mut all).await, ["unset coin-worker-local-0"]);
        for scaler in [&mut goodwill, &mut rest, &mut all] {
            scaler.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}
