//! `coin-worker` command line and settings.

use clap::{Args, Parser, Subcommand};
use coin_shared::{
    config::{CommonSettings, QueueSettings, RedisSettings},
    schedules::CronSettings,
};

use crate::queue_selection::QueueSelection;

/// People's Coin worker: consumes the job queues and applies each job to Postgres exactly once.
#[derive(Debug, Parser)]
#[command(name = "coin-worker", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; without one, run the worker.
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub settings: WorkerSettings,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the worker (the default).
    Run(Box<WorkerSettings>),
    /// Inspect and replay the dead set.
    Dead {
        #[command(subcommand)]
        #[allow(missing_docs)]
        action: DeadAction,
        #[command(flatten)]
        #[allow(missing_docs)]
        redis: RedisSettings,
    },
    /// Show every queue: depths, latency, rates, paused or not, live workers.
    Queues {
        #[command(flatten)]
        #[allow(missing_docs)]
        redis: RedisSettings,
    },
    /// Pause a queue: workers stop fetching from it within a second; jobs keep being accepted.
    Pause {
        /// The queue (goodwill, votes, governance, webhooks, distribution, operations).
        queue: String,
        #[command(flatten)]
        #[allow(missing_docs)]
        redis: RedisSettings,
    },
    /// Resume a paused queue.
    Resume {
        /// The queue.
        queue: String,
        #[command(flatten)]
        #[allow(missing_docs)]
        redis: RedisSettings,
    },
    /// Find and cancel jobs.
    Jobs {
        #[command(subcommand)]
        #[allow(missing_docs)]
        action: JobsAction,
        #[command(flatten)]
        #[allow(missing_docs)]
        redis: RedisSettings,
    },
}

/// `coin-worker jobs …`
#[derive(Debug, Subcommand)]
pub enum JobsAction {
    /// List jobs in one state, oldest first (dead and cancelled: newest first).
    List {
        /// The state to look through.
        #[arg(long, value_enum)]
        state: coin_shared::operations::SearchState,
        /// Only this queue; all by default.
        #[arg(long)]
        queue: Option<String>,
        /// Only this kind, e.g. `record_goodwill`, `create_proposal`.
        #[arg(long)]
        kind: Option<String>,
        /// Only jobs naming this user (user_id, requested_by, voter_id, ...).
        #[arg(long)]
        user_id: Option<uuid::Uuid>,
        /// At most this many (1..=200).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=200))]
        limit: u64,
        /// Go on from the cursor an earlier listing printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Cancel jobs by id: waiting, scheduled, retrying or dead ones never run; a running one
    /// is only stopped if its handler checks (distribution chunks), else reported.
    Cancel {
        /// The job ids.
        #[arg(required = true)]
        job_ids: Vec<String>,
    },
}

/// `coin-worker dead …`
#[derive(Debug, Subcommand)]
pub enum DeadAction {
    /// List dead jobs, newest first, with the reason each died.
    List {
        /// Only this queue (goodwill, votes, governance, webhooks, distribution); all by default.
        #[arg(long)]
        queue: Option<String>,
        /// At most this many per queue.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Put dead jobs back in their queue under the same ids (so their effects stay idempotent).
    Replay {
        /// The job ids to replay.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        job_ids: Vec<String>,
        /// Replay every dead job (of `--queue`, or of all queues).
        #[arg(long)]
        all: bool,
        /// With `--all`: only this queue.
        #[arg(long, requires = "all")]
        queue: Option<String>,
    },
}

/// Settings of one worker process.
#[derive(Debug, Clone, Args)]
pub struct WorkerSettings {
    /// Vote jobs run at once in this process (governance runs one at a time).
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub worker_concurrency: u32,

    /// Goodwill jobs in flight at once per process: each waits cheaply for its group commit, so
    /// this should be at least `GOODWILL_BATCH_SIZE` for full batches.
    #[arg(long, env = "GOODWILL_CONCURRENCY", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub goodwill_concurrency: u32,

    /// Most goodwill actions committed in one Postgres transaction.
    #[arg(long, env = "GOODWILL_BATCH_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub goodwill_batch_size: u32,

    /// Milliseconds a batch waits for more actions after its first one arrives.
    #[arg(long, env = "GOODWILL_BATCH_LINGER_MS", default_value_t = 2)]
    pub goodwill_batch_linger_ms: u64,

    /// Goodwill batches written at once (each on its own connection).
    #[arg(long, env = "GOODWILL_BATCH_PARALLEL", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub goodwill_batch_parallel: u32,

    /// Seconds a goodwill batch keeps retrying a transient database failure before its jobs
    /// go back to the queue's backoff (a short Postgres outage then costs no attempt).
    #[arg(long, env = "GOODWILL_DB_PATIENCE_SECS", default_value_t = 20)]
    pub goodwill_db_patience_secs: u64,

    /// Bench only: most goodwill jobs this process completes per second (a token bucket taken
    /// before each job joins a group commit), so a replica is worth a fixed throughput on a
    /// small machine; unset (the default) or 0: no limit.
    #[arg(long, env = "GOODWILL_MAX_JOBS_PER_SEC")]
    pub goodwill_max_jobs_per_sec: Option<f64>,

    /// Queues this process serves: `all`, or comma-separated names (goodwill, votes,
    /// governance, webhooks, distribution, operations), for a pool of workers per queue. Every
    /// process runs the schedules whatever it serves.
    #[arg(long, env = "WORKER_QUEUES", default_value = "all", value_parser = worker_queues)]
    pub worker_queues: QueueSelection,

    /// Address of the `/health` and `/metrics` server.
    #[arg(long, env = "WORKER_METRICS_HOST", default_value = "0.0.0.0")]
    pub worker_metrics_host: String,

    /// Port of the `/health` and `/metrics` server (0 picks a free one).
    #[arg(long, env = "WORKER_METRICS_PORT", default_value_t = 9464)]
    pub worker_metrics_port: u16,

    /// Seconds in-flight jobs get to finish after SIGTERM before the process exits.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 25)]
    pub shutdown_grace_secs: u64,

    /// Prefix of this process' worker id (the pod name in Kubernetes); the pid and a random
    /// suffix are always added so that no two processes share an id (orphan recovery
    /// depends on it). Defaults to `HOSTNAME`, else `coin-worker`.
    #[arg(long, env = "WORKER_ID_PREFIX")]
    pub worker_id_prefix: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub webhooks: WebhookSettings,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub schedules: ScheduleSettings,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub queue: QueueSettings,

    /// Database, Redis and logging, as every binary reads them.
    #[command(flatten)]
    pub common: CommonSettings,
}

impl WorkerSettings {
    /// A worker id unique to this process: prefix (or `HOSTNAME`), pid and a random suffix.
    pub fn worker_id(&self) -> String {
        let prefix = self
            .worker_id_prefix
            .clone()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "coin-worker".to_owned());
        let suffix: u32 = rand::random();
        format!("{prefix}-{}-{suffix:08x}", std::process::id())
    }
}

fn worker_queues(raw: &str) -> Result<QueueSelection, String> {
    raw.parse()
}

/// Outbound webhook delivery.
///
/// Retry schedule: attempt `n` (n ≥ 1) that fails with a 5xx, 408, a timeout or a connection
/// error is retried after `min(BASE · 2^(n-1), MAX)`, half of it fixed and half random ("equal
/// jitter"), until `WEBHOOK_MAX_ATTEMPTS` deliveries were made; then the job goes to the dead set
/// (replayable with `coin-worker dead replay` or `POST /v1/dead-jobs/{id}/replay`). With the
/// defaults (5 s, 1 h, 12 attempts) the waits are about 5 s, 10 s, 20 s, 40 s, 80 s, 160 s,
/// 320 s, 640 s, 1280 s, 2560 s, 3600 s: about 2.5 h in all. A 429 waits for its `Retry-After`
/// (capped at MAX) instead.
#[derive(Debug, Clone, Args)]
pub struct WebhookSettings {
    /// Deliveries of one event to one endpoint (the first included) before it goes dead.
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub webhook_max_attempts: u32,

    /// First retry delay (milliseconds); it doubles per attempt, with jitter.
    #[arg(long, env = "WEBHOOK_BACKOFF_BASE_MS", default_value_t = 5_000)]
    pub webhook_backoff_base_ms: u64,

    /// Longest retry delay (seconds), also the cap of a `Retry-After`.
    #[arg(long, env = "WEBHOOK_BACKOFF_MAX_SECS", default_value_t = 3_600)]
    pub webhook_backoff_max_secs: u64,

    /// Seconds one delivery may take (connect, send, answer) before it counts as a timeout.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECS", default_value_t = 15)]
    pub webhook_timeout_secs: u64,

    /// Webhook deliveries in flight at once per process.
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub webhook_concurrency: u32,

    /// Deliver to loopback, private and link-local addresses too (tests and local development
    /// only; never in production).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            webhook_max_attempts: 12,
            webhook_backoff_base_ms: 5_000,
            webhook_backoff_max_secs: 3_600,
            webhook_timeout_secs: 15,
            webhook_concurrency: 32,
            webhook_allow_private: false,
        }
    }
}

/// Scheduled jobs: their cron expressions (shared with the controller, which shows them) and
/// what they work with. Every replica runs every schedule; each tick takes effect once (see
/// `schedules`).
#[derive(Debug, Clone, Args)]
pub struct ScheduleSettings {
    /// The expressions, `RELAY_CRON` … `RETENTION_CRON`.
    #[command(flatten)]
    pub cron: CronSettings,

    /// Points credited to every member wallet per period (0 turns distribution off).
    #[arg(long, env = "DISTRIBUTION_AMOUNT", default_value_t = 0)]
    pub distribution_amount: u64,

    /// Most wallets credited by one distribution job (one transaction).
    #[arg(long, env = "DISTRIBUTION_CHUNK", default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub distribution_chunk: u32,

    /// Days a delivered webhook attempt is kept.
    #[arg(long, env = "WEBHOOK_RETENTION_DAYS", default_value_t = 30)]
    pub webhook_retention_days: u32,

    /// Days a command claim (`applied_commands`) and a schedule run are kept. A job re-delivered
    /// after this long is judged by the state it finds instead.
    #[arg(long, env = "APPLIED_COMMANDS_RETENTION_DAYS", default_value_t = 7)]
    pub applied_commands_retention_days: u32,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self {
            cron: CronSettings::default(),
            distribution_amount: 0,
            distribution_chunk: 1_000,
            webhook_retention_days: 30,
            applied_commands_retention_days: 7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn worker_queues_default_to_all_and_refuse_an_unknown_name() {
        let cli = Cli::try_parse_from(["coin-worker"]).expect("defaults parse");
        assert_eq!(cli.settings.worker_queues, QueueSelection::all());
        let cli = Cli::try_parse_from(["coin-worker", "--worker-queues", "goodwill,votes"]);
        let selection = cli.expect("valid").settings.worker_queues;
        assert_eq!(selection.queues(), ["goodwill", "votes"]);
        let e = Cli::try_parse_from(["coin-worker", "--worker-queues", "goodwil"])
            .expect_err("unknown queue");
        assert!(e.to_string().contains("unknown queue \"goodwil\""), "{e}");
    }

    #[test]
    fn the_defaults_of_the_webhook_and_schedule_settings_match_their_flags() {
        let cli = Cli::try_parse_from(["coin-worker"]).expect("defaults parse");
        let (w, d) = (cli.settings.webhooks, WebhookSettings::default());
        assert_eq!(
            (
                w.webhook_max_attempts,
                w.webhook_backoff_base_ms,
                w.webhook_backoff_max_secs
            ),
            (
                d.webhook_max_attempts,
                d.webhook_backoff_base_ms,
                d.webhook_backoff_max_secs
            )
        );
        assert_eq!(
            (w.webhook_timeout_secs, w.webhook_concurrency),
            (d.webhook_timeout_secs, d.webhook_concurrency)
        );
        let (s, d) = (cli.settings.schedules, ScheduleSettings::default());
        assert_eq!(
            (
                s.distribution_amount,
                s.distribution_chunk,
                s.webhook_retention_days,
                s.applied_commands_retention_days
            ),
            (
                d.distribution_amount,
                d.distribution_chunk,
                d.webhook_retention_days,
                d.applied_commands_retention_days
            )
        );
    }
}
