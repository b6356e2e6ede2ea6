//! Every console action, once it succeeded, becomes one audit job (written to `audit_log` by a
//! worker), naming the operator as `user:<id>` and the console as the way it was done.

use coin_shared::operations::AuditEntry;
use serde_json::Value;

use super::{auth::Operator, error::ConsoleError, state::ConsoleState};

/// Queues the audit entry of `action` on `subject`; `details` gets `"via": "console"`.
pub async fn record(
    state: &ConsoleState,
    operator: &Operator,
    action: &str,
    subject_type: &str,
    subject: &str,
    mut details: Value,
) -> Result<(), ConsoleError> {
    if let Value::Object(map) = &mut details {
        map.insert("via".into(), "console".into());
    }
    state
        .queue
        .audit(AuditEntry {
            action: action.to_owned(),
            actor_user_id: Some(operator.session.user_id),
            actor: operator.actor(),
            subject_type: subject_type.to_owned(),
            subject: subject.to_owned(),
            details,
            at: chrono::Utc::now(),
        })
        .await
        .map_err(|e| ConsoleError::AuditFailed(format!("{action} of {subject}"), e))?;
    Ok(())
}
