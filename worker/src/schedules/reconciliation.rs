//! Reconciliation: every wallet balance must equal the sum of its ledger entries, and every
//! CLOSED proposal's stored final result must equal a recomputation of its tally as of its
//! close. A mismatch is logged, counted (`coin_reconciliation_mismatches_total{kind}`, and the
//! gauge `coin_reconciliation_mismatches{kind}` of the last run, 0 when clean) and written to
//! `audit_log` as `RECONCILIATION_MISMATCH`. Nothing is ever "fixed" here: a mismatch means a
//! bug or a manual edit, and people must look at it.

use apalis_core::{error::BoxDynError, task::data::Data};
use apalis_cron::Tick;
use chrono::{DateTime, Utc};
use coin_shared::governance::tally;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::runs::{once, tick_time};
use crate::{context::JobContext, error::JobError, jobs::store};

/// The cron handler.
pub async fn tick(tick: Tick, ctx: Data<JobContext>) -> Result<String, BoxDynError> {
    let at = tick_time(&tick);
    Ok(once(
        &ctx.pool,
        &ctx.worker_id,
        "reconciliation",
        at,
        run(&ctx.pool, at),
    )
    .await)
}

/// One mismatch found.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// `wallet_balance` or `proposal_tally`.
    pub kind: &'static str,
    /// The wallet or proposal.
    pub subject_type: &'static str,
    /// Its id.
    pub subject_id: Uuid,
    /// What the source of truth says (ledger sum, recomputed tally).
    pub expected: Value,
    /// What is stored.
    pub actual: Value,
}

/// Checks everything once; records what it finds and returns the counts.
pub async fn run(pool: &PgPool, tick: DateTime<Utc>) -> Result<Value, JobError> {
    let mut found = wallet_mismatches(pool).await?;
    let wallets = found.len();
    found.extend(tally_mismatches(pool).await?);
    let proposals = found.len() - wallets;
    for (kind, n) in [("wallet_balance", wallets), ("proposal_tally", proposals)] {
        metrics::gauge!(coin_shared::metric_names::RECONCILIATION_MISMATCHES, "kind" => kind)
            .set(n as f64);
        metrics::counter!(coin_shared::metric_names::RECONCILIATION_MISMATCHES_TOTAL, "kind" => kind)
            .increment(n as u64);
    }
    if !found.is_empty() {
        let mut tx = pool.begin().await?;
        for m in &found {
            tracing::error!(kind = m.kind, subject.id = %m.subject_id, expected = %m.expected,
                actual = %m.actual, "reconciliation mismatch");
            store::audit(
                &mut tx,
                "RECONCILIATION_MISMATCH",
                None,
                m.subject_type,
                m.subject_id,
                json!({ "kind": m.kind, "expected": m.expected, "actual": m.actual, "tick": tick }),
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(json!({ "wallet_balance": wallets, "proposal_tally": proposals }))
}

/// A wallet's balance and the sum of its ledger entries.
#[derive(Debug)]
struct WalletTotals {
    id: Uuid,
    balance: i64,
    ledger: i64,
}

/// Wallets whose balance differs from the sum of their entries (one statement: one snapshot,
/// and every writer changes both in one transaction).
pub async fn wallet_mismatches(pool: &PgPool) -> Result<Vec<Mismatch>, sqlx::Error> {
    let rows = sqlx::query_as!(
        WalletTotals,
        r#"SELECT w.id, w.balance, COALESCE(l.total, 0)::bigint AS "ledger!"
         FROM wallets w
         LEFT JOIN (SELECT wallet_id, sum(amount) AS total FROM ledger_entries GROUP BY wallet_id) l
                ON l.wallet_id = w.id
         WHERE w.balance <> COALESCE(l.total, 0)
         ORDER BY w.id"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|w| Mismatch {
            kind: "wallet_balance",
            subject_type: "wallet",
            subject_id: w.id,
            expected: json!(w.ledger),
            actual: json!(w.balance),
        })
        .collect())
}

/// A closed proposal and the result stored at its close.
#[derive(Debug)]
struct ClosedProposal {
    id: Uuid,
    quorum: f64,
    closed_at: Option<DateTime<Utc>>,
    final_result: Option<Value>,
}

/// CLOSED proposals whose stored final result differs from a recomputation as of their close.
pub async fn tally_mismatches(pool: &PgPool) -> Result<Vec<Mismatch>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let closed = sqlx::query_as!(
        ClosedProposal,
        r#"SELECT id, required_quorum::float8 AS "quorum!", closed_at, final_result
           FROM proposals WHERE status = 'CLOSED' ORDER BY closed_at"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut found = Vec::new();
    for ClosedProposal {
        id,
        quorum,
        closed_at,
        final_result,
    } in closed
    {
        let at = closed_at.unwrap_or_else(Utc::now);
        let inputs = tally::load_as_of(&mut conn, id, quorum, at).await?;
        let expected = serde_json::to_value(tally::compute(&inputs)).unwrap_or(Value::Null);
        let actual = final_result.unwrap_or(Value::Null);
        if expected != actual {
            found.push(Mismatch {
                kind: "proposal_tally",
                subject_type: "proposal",
                subject_id: id,
                expected,
                actual,
            });
        }
    }
    Ok(found)
}
