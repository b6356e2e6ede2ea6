//! `DistributionChunk`: credits the wallets of one chunk of a distribution period and debits the
//! community pool by the same total, in one transaction.
//!
//! Exactly once: the chunk row is claimed (`applied_at`), and each credit is a ledger entry keyed
//! (wallet, DISTRIBUTION, period id), which the ledger's unique key admits once per wallet and
//! period. The pool is debited only if it holds enough (`balance >= total`), so it never goes
//! negative; otherwise the chunk fails permanently (fund the pool, then replay the dead job).
//! Wallets are locked in `user_id` order, the order the goodwill batches use (no deadlocks).

use chrono::{DateTime, Utc};
use coin_shared::jobs::DistributionChunk;
use sqlx::PgPool;
use uuid::Uuid;

use super::prelude::*;
use crate::schedules::distribution::POOL_WALLET_ID;

/// The chunk and its period, as a chunk reads (and locks) them.
#[derive(Debug)]
struct ChunkRow {
    amount: i64,
    cutoff: DateTime<Utc>,
    key: String,
    idx: i32,
    from_wallet: Option<Uuid>,
    to_wallet: Option<Uuid>,
    applied: bool,
}

/// Applies one chunk.
pub async fn apply(pool: &PgPool, job: &DistributionChunk) -> Result<Applied, JobError> {
    apply_once(pool, Claim::Row, async |tx| {
        // The period row first: chunks of one period commit one after another, so the last one
        // sees every other chunk applied and completes the period.
        let row = sqlx::query_as!(
            ChunkRow,
            r#"SELECT p.amount, p.cutoff, p.period_key AS key, c.idx, c.from_wallet,
                      c.to_wallet, c.applied_at IS NOT NULL AS "applied!"
               FROM distribution_periods p JOIN distribution_chunks c ON c.period_id = p.id
               WHERE c.id = $1 AND p.id = $2
               FOR UPDATE OF p, c"#,
            job.chunk_id,
            job.period_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let chunk = existing(
            row,
            format_args!(
                "distribution chunk {} of period {}",
                job.chunk_id, job.period_id
            ),
        )?;
        let ChunkRow {
            amount,
            cutoff,
            key,
            idx,
            from_wallet: from,
            to_wallet: to,
            applied,
        } = chunk;
        if applied {
            return Ok(None);
        }
        let credited = sqlx::query_scalar!(
            r#"WITH targets AS (
                 SELECT w.id FROM wallets w JOIN users u ON u.id = w.user_id
                 WHERE NOT u.system_account AND w.created_at <= $3
                   AND ($4::uuid IS NULL OR w.id >= $4) AND ($5::uuid IS NULL OR w.id < $5)
                 ORDER BY w.user_id
                 FOR UPDATE OF w
             ),
             credited AS (
                 INSERT INTO ledger_entries (wallet_id, amount, kind, reference_id, description)
                 SELECT id, $1, 'DISTRIBUTION', $2, 'distribution ' || $6 FROM targets
                 ON CONFLICT (wallet_id, kind, reference_id) DO NOTHING
                 RETURNING wallet_id
             ),
             updated AS (
                 UPDATE wallets w SET balance = w.balance + $1
                 FROM credited c WHERE w.id = c.wallet_id
                 RETURNING 1
             )
             SELECT count(*) AS "credited!" FROM updated"#,
            amount,
            job.period_id,
            cutoff,
            from,
            to,
            key
        )
        .fetch_one(&mut *tx)
        .await?;
        let total = credited * amount;
        if total > 0 {
            let debited = sqlx::query!(
                "UPDATE wallets SET balance = balance - $2 WHERE id = $1 AND balance >= $2",
                POOL_WALLET_ID,
                total
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if debited == 0 {
                return Err(JobError::Permanent(format!(
                    "the community pool holds fewer than the {total} points chunk {idx} of period {key} needs"
                )));
            }
            sqlx::query!(
                "INSERT INTO ledger_entries (wallet_id, amount, kind, reference_id, description)
                 VALUES ($1, $2, 'DISTRIBUTION', $3,
                         'distribution ' || $4 || ' chunk ' || $5::integer)",
                POOL_WALLET_ID,
                -total,
                job.chunk_id,
                key,
                idx
            )
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query!(
            "UPDATE distribution_chunks SET applied_at = now(), credited = $2 WHERE id = $1",
            job.chunk_id,
            credited
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE distribution_periods SET status = 'COMPLETED', completed_at = now()
             WHERE id = $1 AND NOT EXISTS (
                 SELECT 1 FROM distribution_chunks WHERE period_id = $1 AND applied_at IS NULL)",
            job.period_id
        )
        .execute(&mut *tx)
        .await?;
        let details = serde_json::json!({
            "period": key, "chunk": idx, "wallets": credited, "points": total,
        });
        Ok(Some(
            Effect::audit(
                "DISTRIBUTION_CHUNK_APPLIED",
                "distribution_period",
                job.period_id,
            )
            .details(details),
        ))
    })
    .await
}
