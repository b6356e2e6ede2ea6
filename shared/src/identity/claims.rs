//! The claims read from a verified token, and the identity made of them.

use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::IdentityError;

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user id (`sub`).
    pub subject: Uuid,
    /// The roles of the role claim, in its order (one for a string claim).
    pub roles: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
}

/// The registered claims we read, and the rest for the role.
#[derive(Debug, Deserialize)]
pub(super) struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl Claims {
    /// Seconds from `iat` (or `now`) to `exp`.
    pub(super) fn lifetime(&self, now: i64) -> i64 {
        self.exp.saturating_sub(self.iat.unwrap_or(now))
    }

    /// The identity, with the roles found at `role_path` (dotted).
    pub(super) fn identity(self, role_path: &str) -> Result<Identity, IdentityError> {
        let subject = Uuid::parse_str(&self.sub).map_err(|_| IdentityError::BadSubject)?;
        let mut parts = role_path.split('.');
        let first = parts.next().unwrap_or_default();
        let found = parts.try_fold(self.rest.get(first), |value, part| {
            Some(value.and_then(|v| v.get(part)))
        });
        let roles: Vec<String> = match found.flatten() {
            Some(Value::String(role)) => vec![role.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        if roles.is_empty() {
            return Err(IdentityError::MissingRole(role_path.to_owned()));
        }
        Ok(Identity {
            subject,
            roles,
            expires_at: self.exp,
        })
    }
}
