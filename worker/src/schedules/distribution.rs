//! Distribution (the Liberation System's weekly flow, done safely): each `DISTRIBUTION_CRON`
//! tick starts one period that credits `DISTRIBUTION_AMOUNT` points to every member wallet
//! created before the tick, paid from the community pool wallet.
//!
//! - Once per period: the period key is the tick (`2026-11-23T00:00:00Z`), unique in
//!   `distribution_periods`; the replica whose INSERT wins creates the period and its chunks in
//!   the same transaction, the others find the key taken.
//! - Bounded jobs: the wallets are split by id range into chunks of at most `DISTRIBUTION_CHUNK`
//!   wallets; the relay enqueues them and each is one `DistributionChunk` job (one transaction).
//! - Never negative: the period starts only if the pool holds `amount × wallets` beyond what
//!   earlier periods still in progress have promised; each chunk
//!   debits the pool only if it still holds its share (see `jobs::distribution_chunk`).

use apalis_core::{error::BoxDynError, task::data::Data};
use apalis_cron::Tick;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::runs::{observe, tick_time};
use crate::{context::JobContext, error::JobError, jobs::store};

/// The community pool: a system account's wallet (user id = wallet id).
pub const POOL_WALLET_ID: Uuid = Uuid::from_u128(0xc001);

/// What one period pays.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Points per wallet.
    pub amount: u64,
    /// Most wallets per chunk.
    pub chunk: u32,
}

/// The cron handler.
pub async fn tick(tick: Tick, ctx: Data<JobContext>) -> Result<String, BoxDynError> {
    let plan = Plan {
        amount: ctx.schedules.distribution_amount,
        chunk: ctx.schedules.distribution_chunk,
    };
    let at = tick_time(&tick);
    Ok(observe("distribution", at, start(&ctx.pool, at, plan)).await)
}

/// The key of the period that starts at `tick`.
pub fn period_key(tick: DateTime<Utc>) -> String {
    tick.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Creates the community pool's user and wallet if they do not exist yet.
pub async fn ensure_pool(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO users (id, display_name, system_account) VALUES ($1, 'Community pool', true)
         ON CONFLICT (id) DO NOTHING",
        POOL_WALLET_ID
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO wallets (id, user_id) VALUES ($1, $1) ON CONFLICT DO NOTHING",
        POOL_WALLET_ID
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A chunk boundary (the first wallet id of a chunk) with the count of eligible wallets.
#[derive(Debug)]
struct Boundary {
    eligible: i64,
    id: Option<Uuid>,
}

/// Starts the period of `tick` (at most once, whoever calls); returns what it did.
pub async fn start(
    pool: &PgPool,
    tick: DateTime<Utc>,
    plan: Plan,
) -> Result<serde_json::Value, JobError> {
    if plan.amount == 0 {
        return Ok(json!({ "skipped": "DISTRIBUTION_AMOUNT is 0" }));
    }
    let amount = i64::try_from(plan.amount)
        .map_err(|_| JobError::Permanent("DISTRIBUTION_AMOUNT is too large".into()))?;
    let key = period_key(tick);
    let mut tx = pool.begin().await?;
    ensure_pool(&mut tx).await?;
    let period = sqlx::query_scalar!(
        "INSERT INTO distribution_periods (period_key, amount, cutoff, status)
         VALUES ($1, $2, $3, 'IN_PROGRESS')
         ON CONFLICT (period_key) DO NOTHING RETURNING id",
        key,
        amount,
        tick
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(period_id) = period else {
        tx.rollback().await?;
        return Ok(json!({ "period": key, "skipped": "already started" }));
    };
    let pool_balance = sqlx::query_scalar!(
        "SELECT balance FROM wallets WHERE id = $1 FOR UPDATE",
        POOL_WALLET_ID
    )
    .fetch_one(&mut *tx)
    .await?;
    // Chunk boundaries: every `chunk`-th eligible wallet id starts a new chunk.
    let (wallets, boundaries): (i64, Vec<Uuid>) = {
        let rows = sqlx::query_as!(
            Boundary,
            r#"WITH eligible AS (
                   SELECT w.id, row_number() OVER (ORDER BY w.id) AS n
                   FROM wallets w JOIN users u ON u.id = w.user_id
                   WHERE NOT u.system_account AND w.created_at <= $1
               )
               SELECT (SELECT count(*) FROM eligible) AS "eligible!", id AS "id?"
               FROM eligible WHERE n > 1 AND (n - 1) % $2 = 0 ORDER BY id"#,
            tick,
            i64::from(plan.chunk)
        )
        .fetch_all(&mut *tx)
        .await?;
        let count = match rows.first() {
            Some(first) => first.eligible,
            None => sqlx::query_scalar!(
                r#"SELECT count(*) AS "eligible!" FROM wallets w JOIN users u ON u.id = w.user_id
                   WHERE NOT u.system_account AND w.created_at <= $1"#,
                tick
            )
            .fetch_one(&mut *tx)
            .await?,
        };
        (count, rows.into_iter().filter_map(|b| b.id).collect())
    };
    // Points promised to wallets of earlier periods still in progress are not available.
    let promised = sqlx::query_scalar!(
        r#"SELECT COALESCE(sum(p.amount * (p.wallets - COALESCE(
                      (SELECT sum(c.credited) FROM distribution_chunks c
                       WHERE c.period_id = p.id AND c.applied_at IS NOT NULL), 0))), 0)::bigint
                  AS "promised!"
           FROM distribution_periods p WHERE p.status = 'IN_PROGRESS' AND p.id <> $1"#,
        period_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let available = pool_balance - promised.max(0);
    let needed = amount.saturating_mul(wallets);
    if available < needed {
        sqlx::query!(
            "UPDATE distribution_periods SET status = 'INSUFFICIENT_FUNDS', wallets = $2 WHERE id = $1",
            period_id,
            wallets
        )
        .execute(&mut *tx)
        .await?;
        let details = json!({ "period": key, "reason": "insufficient funds", "pool": pool_balance,
                              "promised": promised, "needed": needed });
        commit_audited(tx, "DISTRIBUTION_SKIPPED", period_id, details).await?;
        tracing::warn!(period = %key, pool = pool_balance, needed, "distribution skipped: the community pool is short");
        return Ok(
            json!({ "period": key, "skipped": "insufficient funds", "pool": pool_balance, "needed": needed }),
        );
    }
    let mut edges: Vec<Option<Uuid>> = vec![None];
    edges.extend(boundaries.into_iter().map(Some));
    edges.push(None);
    let chunks = if wallets == 0 { 0 } else { edges.len() - 1 };
    for (idx, range) in edges.windows(2).take(chunks).enumerate() {
        sqlx::query!(
            "INSERT INTO distribution_chunks (id, period_id, idx, from_wallet, to_wallet)
             VALUES ($1, $2, $3, $4, $5)",
            Uuid::now_v7(),
            period_id,
            i32::try_from(idx).unwrap_or(i32::MAX),
            range[0],
            range[1]
        )
        .execute(&mut *tx)
        .await?;
    }
    let status = if chunks == 0 {
        "COMPLETED"
    } else {
        "IN_PROGRESS"
    };
    sqlx::query!(
        "UPDATE distribution_periods SET wallets = $2, chunks = $3, status = $4::distribution_status,
             completed_at = CASE WHEN $4 = 'COMPLETED' THEN now() END
         WHERE id = $1",
        period_id,
        wallets,
        i32::try_from(chunks).unwrap_or(i32::MAX),
        // Bound as text, cast in the statement: `distribution_status` has no Rust enum.
        status as &str
    )
    .execute(&mut *tx)
    .await?;
    let details = json!({ "period": key, "amount": amount, "wallets": wallets, "chunks": chunks });
    commit_audited(tx, "DISTRIBUTION_STARTED", period_id, details).await?;
    tracing::info!(period = %key, wallets, chunks, amount, "distribution period started");
    Ok(json!({ "period": key, "period_id": period_id, "wallets": wallets, "chunks": chunks }))
}

/// Records what happened to the period in `audit_log` and commits: the event and the period's
/// change are one transaction.
async fn commit_audited(
    mut tx: Transaction<'_, Postgres>,
    action_type: &str,
    period_id: Uuid,
    details: serde_json::Value,
) -> Result<(), JobError> {
    store::audit(
        &mut tx,
        action_type,
        None,
        "distribution_period",
        period_id,
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
