//! Postgres activity from `pg_stat_database` and `pg_stat_activity`, in one query.

use serde::Serialize;
use sqlx::PgPool;

/// Postgres load at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DatabaseMetrics {
    /// Backends running a statement now.
    pub active_connections: i64,
    /// Client backends connected, busy or idle.
    pub total_connections: i64,
    /// The server's `max_connections`.
    pub max_connections: i64,
    /// Transactions committed in this database since the statistics were reset.
    pub transactions_committed: i64,
    /// Buffer cache hits over all block reads, 0..1 (1 when nothing was read yet).
    pub cache_hit_ratio: f64,
}

impl DatabaseMetrics {
    /// Connected clients over `max_connections`, 0..1.
    pub fn connections_ratio(&self) -> f64 {
        if self.max_connections <= 0 {
            0.0
        } else {
            self.total_connections as f64 / self.max_connections as f64
        }
    }
}

/// The raw counters, in one round trip.
struct Counters {
    active: i64,
    total: i64,
    max: i64,
    commits: i64,
    hits: i64,
    reads: i64,
}

/// Reads the counters; an error means Postgres did not answer.
pub async fn measure(pool: &PgPool) -> Result<DatabaseMetrics, sqlx::Error> {
    let row = sqlx::query_as!(
        Counters,
        r#"SELECT
            (SELECT count(*) FROM pg_stat_activity WHERE state = 'active') AS "active!",
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
                AS "total!",
            current_setting('max_connections')::bigint AS "max!",
            coalesce(d.xact_commit, 0) AS "commits!",
            coalesce(d.blks_hit, 0) AS "hits!",
            coalesce(d.blks_read, 0) AS "reads!"
         FROM pg_stat_database d
         WHERE d.datname = current_database()"#
    )
    .fetch_one(pool)
    .await?;
    let Counters {
        active,
        total,
        max,
        commits,
        hits,
        reads,
    } = row;
    let looked_up = hits + reads;
    Ok(DatabaseMetrics {
        active_connections: active,
        total_connections: total,
        max_connections: max,
        transactions_committed: commits,
        cache_hit_ratio: if looked_up == 0 {
            1.0
        } else {
            hits as f64 / looked_up as f64
        },
    })
}
