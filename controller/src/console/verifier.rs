//! Verifies sign-in tokens with the API's own rules (the shared
//! [`coin_shared::identity::Verifier`]: the issuer's key set or the development secret) and
//! admits operators only.

use std::time::Duration;

use coin_shared::identity::Verifier;
use uuid::Uuid;

use super::error::ConsoleError;

/// Admits operator tokens.
pub struct OperatorVerifier {
    verifier: Verifier,
}

impl OperatorVerifier {
    /// A verifier admitting the operators `verifier` accepts.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }

    /// The operator a valid, unexpired operator token speaks for, and how long the token has
    /// left.
    pub async fn operator(&self, token: &str) -> Result<(Uuid, Duration), ConsoleError> {
        let identity = self.verifier.verify(token.trim()).await.map_err(|e| {
            ConsoleError::Forbidden(format!(
                "that token is not valid ({e}); paste the whole token as `coin-api token --role operator` prints it"
            ))
        })?;
        if !identity.roles.iter().any(|r| r == "operator") {
            return Err(ConsoleError::Forbidden(format!(
                "the console is for operators; this token's role is {:?}",
                identity.roles.join(", ")
            )));
        }
        let left = u64::try_from(identity.expires_at - chrono::Utc::now().timestamp()).unwrap_or(0);
        if left == 0 {
            return Err(ConsoleError::Forbidden(
                "that token has expired; make a new one".into(),
            ));
        }
        Ok((identity.subject, Duration::from_secs(left)))
    }
}
