//! Dependency checks behind every binary's `GET /health` (readiness), and the body of
//! `GET /livez` (liveness: the process answers, whatever its dependencies do).

use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;

use crate::queue::JobQueue;

/// How long one dependency check may take before it counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_millis(800);

/// State of one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DependencyState {
    /// Answered in time.
    Up,
    /// Failed or timed out.
    Down,
}

/// The body of `GET /health`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `ok` when every dependency is up, `degraded` otherwise.
    pub status: &'static str,
    /// Which binary answers.
    pub service: &'static str,
    /// Its version.
    pub version: &'static str,
    /// PostgreSQL reachability.
    pub postgres: DependencyState,
    /// Redis reachability.
    pub redis: DependencyState,
}

impl HealthReport {
    /// Whether every dependency is up.
    pub fn is_ok(&self) -> bool {
        self.postgres == DependencyState::Up && self.redis == DependencyState::Up
    }
}

/// What a binary's readiness (`/health` answering 200) needs. Every binary reports both
/// dependencies in the body; only those its work cannot go without decide the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Postgres and Redis: the worker (it writes what it takes from the queue) and the
    /// controller.
    PostgresAndRedis,
    /// Redis only: the API accepts commands into the queue without Postgres, so an outage of
    /// Postgres must not take its pods out of their Service (reads answer 503 meanwhile).
    Redis,
}

impl Readiness {
    /// Whether `report` lets the binary do its work.
    pub fn is_ready(self, report: &HealthReport) -> bool {
        match self {
            Readiness::PostgresAndRedis => report.is_ok(),
            Readiness::Redis => report.redis == DependencyState::Up,
        }
    }
}

/// Checks Postgres and Redis concurrently, each within a short timeout.
pub async fn check(service: &'static str, pool: &PgPool, queue: &JobQueue) -> HealthReport {
    let pg = async {
        let query = sqlx::query_scalar!(r#"SELECT 1 AS "up!""#).fetch_one(pool);
        state(tokio::time::timeout(CHECK_TIMEOUT, query).await)
    };
    let redis = async { state(tokio::time::timeout(CHECK_TIMEOUT, queue.ping()).await) };
    let (postgres, redis) = tokio::join!(pg, redis);
    let mut report = HealthReport {
        status: "ok",
        service,
        version: env!("CARGO_PKG_VERSION"),
        postgres,
        redis,
    };
    if !report.is_ok() {
        report.status = "degraded";
    }
    report
}

fn state<T, E>(outcome: Result<Result<T, E>, tokio::time::error::Elapsed>) -> DependencyState {
    match outcome {
        Ok(Ok(_)) => DependencyState::Up,
        _ => DependencyState::Down,
    }
}

/// The body of `GET /livez`: the process is up and its HTTP server answers. It checks no
/// dependency, so an outage of Postgres or Redis takes pods out of service (`/health`) without
/// making Kubernetes restart all of them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Liveness {
    /// Always `alive`.
    pub status: &'static str,
    /// Which binary answers.
    pub service: &'static str,
    /// Its version.
    pub version: &'static str,
}

/// The liveness answer of `service`.
pub fn liveness(service: &'static str) -> Liveness {
    Liveness {
        status: "alive",
        service,
        version: env!("CARGO_PKG_VERSION"),
    }
}
