//! Every console action, once it succeeded, becomes one audit job (written to `audit_log` by a
//! worker), naming the operator as `user:<id>` and the console as the way it was done.

use coin_shared::operations::Audit;
use serde_json::Value;

use super::{auth::Operator, error::ConsoleError, state::ConsoleState};

/// Queues the audit entry of `audit`, done by `operator`; its details get `"via": "console"`.
pub async fn record(
    state: &ConsoleState,
    operator: &Operator,
    mut audit: Audit,
) -> Result<(), ConsoleError> {
    if let Value::Object(map) = &mut audit.details {
        map.insert("via".into(), "console".into());
    }
    let what = format!("{} of {}", audit.action, audit.subject);
    state
        .queue
        .audit(audit.by_user(operator.session.user_id))
        .await
        .map_err(|e| ConsoleError::AuditFailed(what, e))?;
    Ok(())
}
