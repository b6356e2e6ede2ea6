//! `RecordGoodwill`: user and wallet created if new, the action stored as VERIFIED, its points
//! credited through the ledger, one audit row; all in one transaction, at most once per
//! `action_id` however often the job is delivered.

use coin_shared::{jobs::RecordGoodwill, webhooks};
use sqlx::PgPool;

use super::prelude::*;

/// The shared rules ([`coin_shared::validate::Validate`]), judged at acceptance time (so a
/// retry hours later is judged like the first delivery); a broken rule is a permanent failure.
/// The batcher runs it on every action before its batch statement, so a bad action fails alone
/// and its neighbours keep their group commit.
pub fn check(job: &RecordGoodwill) -> Result<(), JobError> {
    super::check(job)
}

/// Applies one action in its own transaction; a second call with the same `action_id` changes
/// nothing. The batcher falls back to it to isolate a bad action.
pub async fn apply(pool: &PgPool, job: &RecordGoodwill) -> Result<Applied, JobError> {
    check(job)?;

    apply_once(pool, Claim::Row, async |tx| {
        store::ensure_user(tx, job.user_id).await?;
        let wallet_id = sqlx::query_scalar!(
            "INSERT INTO wallets (user_id) VALUES ($1)
             ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
             RETURNING id",
            job.user_id
        )
        .fetch_one(&mut *tx)
        .await?;
        let insert = sqlx::query!(
            "INSERT INTO goodwill_actions
                 (id, performer_user_id, action_type, description, loves_value, contextual_data,
                  status, occurred_at, processed_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'VERIFIED', $7, now())
             ON CONFLICT (id) DO NOTHING",
            job.action_id,
            job.user_id,
            job.action_type,
            job.description,
            job.loves_value,
            // The context map as JSON, without copying it into a `serde_json::Value`.
            sqlx::types::Json(&job.context) as _,
            job.occurred_at
        );
        if !inserted(insert, tx).await? {
            // Already recorded by an earlier delivery: commit nothing new.
            return Ok(None);
        }
        sqlx::query!(
            "INSERT INTO ledger_entries (wallet_id, amount, kind, reference_id, description)
             VALUES ($1, $2, 'GOODWILL', $3, $4)",
            wallet_id,
            i64::from(job.loves_value),
            job.action_id,
            job.action_type
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE wallets SET balance = balance + $1 WHERE id = $2",
            i64::from(job.loves_value),
            wallet_id
        )
        .execute(&mut *tx)
        .await?;
        let details = serde_json::json!({
            "user_id": job.user_id,
            "action_type": job.action_type,
            "loves_value": job.loves_value,
        });
        let mut data = details.clone();
        data["action_id"] = serde_json::json!(job.action_id);
        Ok(Some(
            Effect::audit("GOODWILL_RECORDED", "goodwill_action", job.action_id)
                .by(job.requested_by)
                .details(details)
                .emit(webhooks::GOODWILL_RECORDED, data),
        ))
    })
    .await
}
