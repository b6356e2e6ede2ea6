//! `coin-controller` settings: one flag and environment variable per knob, each with its default.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, ValueEnum};
use coin_shared::{
    config::CommonSettings,
    jobs::ALL_QUEUES,
    schedules::{CronSettings, InvalidCron},
};

use crate::{
    decide::{COIN_SCALE_DOWN_STABILIZATION_SECS, COIN_SCALE_UP_PODS, LatencySlo, Policy, Preset},
    measure::ScheduledSources,
    pools::{PoolSpec, WorkerPools},
};

/// People's Coin controller: measures, decides worker replicas, scales, records and exports.
#[derive(Debug, Parser)]
#[command(name = "coin-controller", version)]
pub struct Cli {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub settings: ControllerSettings,
}

/// How decisions are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScalerKind {
    /// Patch `deployments/scale` of `WORKER_DEPLOYMENT` in `WORKER_NAMESPACE`.
    Kubernetes,
    /// Spawn and stop local `coin-worker` processes (the single-machine default).
    Process,
    /// Recommend and log only.
    None,
}

impl ScalerKind {
    /// The name recorded in `controller_actions.scaler`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kubernetes => "kubernetes",
            Self::Process => "process",
            Self::None => "none",
        }
    }
}

/// Settings of the controller.
#[derive(Debug, Clone, Args)]
pub struct ControllerSettings {
    /// Address of the Observability Node (`/health`, `/metrics`, `/api/...`).
    #[arg(long, env = "OBSERVABILITY_HOST", default_value = "0.0.0.0")]
    pub observability_host: String,

    /// Port of the Observability Node (0 picks a free one).
    #[arg(long, env = "OBSERVABILITY_PORT", default_value_t = 8080)]
    pub observability_port: u16,

    /// Address of the operator console (HTML, sign-in with an operator token).
    #[arg(long, env = "CONSOLE_HOST", default_value = "0.0.0.0")]
    pub console_host: String,

    /// Port of the operator console (0 picks a free one).
    #[arg(long, env = "CONSOLE_PORT", default_value_t = 8090)]
    pub console_port: u16,

    /// Minutes a console session lasts after sign-in.
    #[arg(long, env = "CONSOLE_SESSION_MINUTES", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub console_session_minutes: u32,

    /// How the console verifies operator tokens: as the API does (an issuer's key set and/or
    /// the development `JWT_SECRET`). With neither, the console is not served.
    #[command(flatten)]
    pub identity: coin_shared::identity::IdentitySettings,

    /// How worker replicas are applied: kubernetes, process or none.
    #[arg(long, env = "SCALER", value_enum, default_value_t = ScalerKind::Process)]
    pub scaler: ScalerKind,

    /// Seconds between two evaluations; fractions allowed.
    #[arg(long, env = "CONTROLLER_INTERVAL", default_value_t = 5.0, value_parser = positive_number)]
    pub controller_interval: f64,

    /// Fewest worker replicas.
    #[arg(long, env = "MIN_WORKERS", default_value_t = 1)]
    pub min_workers: u32,

    /// Most worker replicas.
    #[arg(long, env = "MAX_WORKERS", default_value_t = 10)]
    pub max_workers: u32,

    /// Worker pools, each decided and scaled on its own: `name=queue+queue@min-max` entries
    /// separated by `;` (`*` is every queue no other pool names), e.g.
    /// `goodwill=goodwill@0-20;rest=*@1-4` [default: one pool `default` of every queue within
    /// MIN_WORKERS..MAX_WORKERS].
    #[arg(long, env = "WORKER_POOLS", value_parser = worker_pools)]
    pub worker_pools: Option<WorkerPools>,

    /// Backlog (ready jobs) one replica is meant to carry, HPA's AverageValue target.
    #[arg(long, env = "TARGET_BACKLOG_PER_WORKER", default_value_t = 100.0, value_parser = positive_number)]
    pub target_backlog_per_worker: f64,

    /// Scale-down stabilization window in seconds: the highest recommendation within it wins.
    #[arg(long, env = "SCALE_DOWN_STABILIZATION_SECS", default_value_t = COIN_SCALE_DOWN_STABILIZATION_SECS)]
    pub scale_down_stabilization_secs: u64,

    /// Scale-up step: at most this many replicas more per 15 s, or +100 %, whichever is more.
    #[arg(long, env = "SCALE_UP_PODS", default_value_t = COIN_SCALE_UP_PODS, value_parser = clap::value_parser!(u32).range(1..))]
    pub scale_up_pods: u32,

    /// Seconds within which the measured throughput should drain the backlog.
    #[arg(long, env = "DRAIN_TARGET_SECS", default_value_t = 60.0, value_parser = positive_number)]
    pub drain_target_secs: f64,

    /// Scaling policy: coin (ours), keda-hpa (KEDA's redis-lists scaler under HPA's defaults)
    /// or static-max (`MAX_WORKERS` always).
    #[arg(long, env = "SCALING_POLICY", default_value = "coin", value_parser = preset)]
    pub scaling_policy: Preset,

    /// Latency SLO in seconds per queue: `30` for every queue, `goodwill=5,default=30`, or
    /// `off`; the coin policy sizes so that no job waits longer.
    #[arg(long, env = "LATENCY_SLO_SECS", default_value = "30", value_parser = latency_slo)]
    pub latency_slo_secs: LatencySlo,

    /// Smallest gain of the last replicas added, as a share (0..1) of what an average replica
    /// completes, below which the coin policy refuses further scale-up; 0 turns it off.
    #[arg(long, env = "MIN_MARGINAL_GAIN", default_value_t = 0.1, value_parser = share)]
    pub min_marginal_gain: f64,

    /// Seconds a measured point of the throughput curve is trusted: a knee is re-probed after.
    #[arg(long, env = "KNEE_REPROBE_SECS", default_value_t = 300.0, value_parser = positive_number)]
    pub knee_reprobe_secs: f64,

    /// Seconds before a schedule that fans out jobs (distribution) runs within which the coin
    /// policy scales up for the jobs it will enqueue (reason `Scheduled`); 0 turns it off.
    #[arg(long, env = "PRESCALE_LEAD_SECS", default_value_t = 60)]
    pub prescale_lead_secs: u64,

    /// Points a distribution credits every member wallet, as the workers have it: 0 (their
    /// default) means no distribution runs, so none is pre-scaled for.
    #[arg(long, env = "DISTRIBUTION_AMOUNT", default_value_t = 0)]
    pub distribution_amount: u64,

    /// Wallets per distribution job, as the workers have it: the jobs of a distribution are its
    /// wallets ÷ this.
    #[arg(long, env = "DISTRIBUTION_CHUNK", default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub distribution_chunk: u32,

    /// No scale-up while host CPU usage (0..1) is above this.
    #[arg(long, env = "MAX_HOST_CPU_RATIO", default_value_t = 0.9)]
    pub max_host_cpu_ratio: f64,

    /// No scale-up while host memory usage (0..1) is above this.
    #[arg(long, env = "MAX_HOST_MEMORY_RATIO", default_value_t = 0.9)]
    pub max_host_memory_ratio: f64,

    /// No scale-up while Postgres connections / max_connections is above this.
    #[arg(long, env = "MAX_DB_CONNECTIONS_RATIO", default_value_t = 0.85)]
    pub max_db_connections_ratio: f64,

    /// Decide and record, but never apply.
    #[arg(long, env = "DRY_RUN", default_value_t = false, action = clap::ArgAction::Set)]
    pub dry_run: bool,

    /// Days of `controller_actions` rows to keep.
    #[arg(long, env = "CONTROLLER_RETENTION_DAYS", default_value_t = 30)]
    pub controller_retention_days: u32,

    /// Deployment of the workers, for the kubernetes scaler.
    #[arg(long, env = "WORKER_DEPLOYMENT", default_value = "coin-worker")]
    pub worker_deployment: String,

    /// Namespace of that Deployment.
    #[arg(long, env = "WORKER_NAMESPACE", default_value = "default")]
    pub worker_namespace: String,

    /// The `coin-worker` executable for the process scaler [default: next to this executable].
    #[arg(long, env = "WORKER_BINARY")]
    pub worker_binary: Option<PathBuf>,

    /// First `WORKER_METRICS_PORT` of processes the process scaler spawns, each the next one; 0
    /// lets every worker pick a free port.
    #[arg(long, env = "WORKER_METRICS_PORT_BASE", default_value_t = 0)]
    pub worker_metrics_port_base: u16,

    /// The workers' cron schedules, read from the same variables as the worker, for the
    /// console's `/schedules` (give the controller the values the workers have).
    #[command(flatten)]
    pub schedules: CronSettings,

    /// Database, Redis and logging, as every binary reads them.
    #[command(flatten)]
    pub common: CommonSettings,
}

impl ControllerSettings {
    /// Parses command-line style arguments (the first is the program name); variables not given
    /// as flags come from the environment, as for the binary.
    pub fn parse_from<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Cli::parse_from(args).settings
    }

    /// Time between two evaluations.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.controller_interval)
    }

    /// How long a console session lasts.
    pub fn console_session(&self) -> Duration {
        Duration::from_secs(u64::from(self.console_session_minutes) * 60)
    }

    /// The decision policy these settings describe, under `SCALING_POLICY`.
    pub fn policy(&self) -> Policy {
        self.scaling_policy.policy(&self.configured_policy())
    }

    /// The pools the controller manages: those of `WORKER_POOLS`, or the one `default` pool of
    /// every queue within `MIN_WORKERS..MAX_WORKERS`.
    pub fn pools(&self) -> Vec<PoolSpec> {
        match &self.worker_pools {
            Some(pools) => pools.specs().to_vec(),
            None => vec![PoolSpec::default_pool(self.min_workers, self.max_workers)],
        }
    }

    /// The decision policy of `pool`: [`Self::policy`] within the pool's bounds (latency SLOs
    /// stay per queue, so a pool's are those of its queues).
    pub fn pool_policy(&self, pool: &PoolSpec) -> Policy {
        let configured = Policy {
            min_replicas: pool.min,
            max_replicas: pool.max.max(pool.min),
            ..self.configured_policy()
        };
        self.scaling_policy.policy(&configured)
    }

    /// The schedules whose coming work the controller measures, or why the distribution
    /// schedule's expression is refused.
    pub fn scheduled_sources(&self) -> Result<ScheduledSources, InvalidCron> {
        let policy = self.policy();
        ScheduledSources::new(
            &self.schedules,
            self.distribution_amount,
            self.distribution_chunk,
            policy.prescale_lead,
        )
    }

    /// The knobs as configured, before the preset applies.
    fn configured_policy(&self) -> Policy {
        Policy {
            min_replicas: self.min_workers,
            max_replicas: self.max_workers.max(self.min_workers),
            target_backlog_per_replica: self.target_backlog_per_worker,
            scale_down_stabilization: Duration::from_secs(self.scale_down_stabilization_secs),
            scale_up_pods: self.scale_up_pods,
            drain_target: Duration::from_secs_f64(self.drain_target_secs),
            max_host_cpu_ratio: self.max_host_cpu_ratio,
            max_host_memory_ratio: self.max_host_memory_ratio,
            max_db_connections_ratio: self.max_db_connections_ratio,
            stale_after: self.interval().mul_f64(3.0).max(Duration::from_secs(15)),
            latency_slo: self.latency_slo_secs.clone(),
            min_marginal_gain: self.min_marginal_gain,
            knee_reprobe: Duration::from_secs_f64(self.knee_reprobe_secs),
            prescale_lead: Duration::from_secs(self.prescale_lead_secs),
            ..Policy::default()
        }
    }
}

fn positive_number(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("expected a positive number, got {raw:?}")),
    }
}

fn share(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(value) if (0.0..1.0).contains(&value) => Ok(value),
        _ => Err(format!(
            "expected a share from 0 up to (not including) 1, got {raw:?}"
        )),
    }
}

fn worker_pools(raw: &str) -> Result<WorkerPools, String> {
    raw.parse()
        .map_err(|e: crate::pools::PoolsError| e.to_string())
}

fn preset(raw: &str) -> Result<Preset, String> {
    raw.parse()
}

/// A [`LatencySlo`] whose named queues exist.
fn latency_slo(raw: &str) -> Result<LatencySlo, String> {
    let slo: LatencySlo = raw.parse()?;
    if let Some(unknown) = slo.queues().find(|q| !ALL_QUEUES.contains(q)) {
        return Err(format!(
            "unknown queue {unknown:?} (queues: {}, or default)",
            ALL_QUEUES.join(", ")
        ));
    }
    Ok(slo)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use crate::{
        decide::{Preset, Signal},
        pools::PoolSpec,
        settings::Cli,
    };

    fn parsed(args: &[&str]) -> Result<Cli, String> {
        Cli::try_parse_from([&["coin-controller"], args].concat()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_scaling_knobs_parse_and_build_their_preset() {
        let cli = parsed(&[
            "--scaling-policy",
            "keda-hpa",
            "--latency-slo-secs",
            "goodwill=5,default=30",
        ]);
        let settings = cli.expect("valid").settings;
        assert_eq!(settings.scaling_policy, Preset::KedaHpa);
        assert_eq!(
            settings.latency_slo_secs.for_queue("goodwill"),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            settings.latency_slo_secs.for_queue("votes"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(settings.policy().signal, Signal::ReadyOnly);
        assert!(
            settings.policy().prescale_lead.is_zero(),
            "KEDA knows no schedule"
        );
    }

    #[test]
    fn pre_scaling_leads_by_60_s_by_default_and_0_turns_it_off() {
        let settings = parsed(&[]).expect("defaults").settings;
        assert_eq!(settings.policy().prescale_lead, Duration::from_secs(60));
        assert_eq!(settings.distribution_chunk, 1_000);
        let off = parsed(&["--prescale-lead-secs", "0"])
            .expect("valid")
            .settings;
        assert!(off.policy().prescale_lead.is_zero());
        let args = "--distribution-cron=weekly --distribution-amount=5";
        let bad = parsed(&args.split(' ').collect::<Vec<_>>());
        let settings = bad.expect("parsed; checked when built").settings;
        let error = settings.scheduled_sources().err().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("DISTRIBUTION_CRON")));
    }

    #[test]
    fn without_worker_pools_one_default_pool_serves_every_queue_within_the_worker_bounds() {
        let settings = parsed(&["--min-workers", "2", "--max-workers", "7"])
            .expect("valid")
            .settings;
        let pools = settings.pools();
        assert_eq!(pools, [PoolSpec::default_pool(2, 7)]);
        assert_eq!(settings.pool_policy(&pools[0]), settings.policy());
        let args = ["--worker-pools", "goodwill=goodwill@0-20;rest=*@1-4"];
        let pooled = parsed(&[&args[..], &["--scaling-policy", "static-max"]].concat())
            .expect("valid")
            .settings;
        let pools = pooled.pools();
        let bounds: Vec<(u32, u32)> = pools
            .iter()
            .map(|p| {
                let policy = pooled.pool_policy(p);
                (policy.min_replicas, policy.max_replicas)
            })
            .collect();
        assert_eq!(
            bounds,
            [(20, 20), (4, 4)],
            "static-max runs each pool's max"
        );
    }

    #[test]
    fn bad_scaling_knobs_are_refused_at_startup_with_the_reason() {
        for (args, says) in [
            (
                ["--latency-slo-secs", "godwill=5"],
                "unknown queue \"godwill\"",
            ),
            (
                ["--latency-slo-secs", "goodwill=-1"],
                "positive number of seconds",
            ),
            (["--latency-slo-secs", "30,default=10"], "given twice"),
            (["--min-marginal-gain", "1.5"], "from 0 up to"),
            (
                ["--scaling-policy", "hpa"],
                "expected coin, keda-hpa or static-max",
            ),
            (["--knee-reprobe-secs", "0"], "positive number"),
            (["--worker-pools", "g=goodwill@0-1"], "are in no pool"),
            (
                ["--worker-pools", "g=godwill@0-1;r=*@1-1"],
                "unknown queue \"godwill\"",
            ),
            (["--worker-pools", "g=*@3-1"], "min 3 is above max 1"),
        ] {
            let error = parsed(&args).err().unwrap_or_default();
            assert!(error.contains(says), "{args:?}: {error}");
        }
    }
}
