//! Small writes every handler shares: users, audit rows, command claims.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// Creates the user row if it is new (members are known by their token's subject).
pub async fn ensure_user(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends one audit row; call it in the transaction of the change it describes.
pub async fn audit(
    conn: &mut PgConnection,
    action_type: &str,
    actor: Option<Uuid>,
    subject_type: &str,
    subject_id: impl Into<Option<Uuid>>,
    details: Value,
) -> Result<(), sqlx::Error> {
    let subject_id: Option<Uuid> = subject_id.into();
    sqlx::query!(
        "INSERT INTO audit_log (action_type, actor_user_id, subject_type, subject_id, details)
         VALUES ($1, $2, $3, $4, $5)",
        action_type,
        actor,
        subject_type,
        subject_id,
        details
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims a command id for this transaction: `false` when an earlier delivery already applied
/// it (the caller then commits nothing).
pub async fn claim_command(
    conn: &mut PgConnection,
    command_id: Uuid,
    kind: &str,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query!(
        "INSERT INTO applied_commands (id, kind) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        command_id,
        kind
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}
