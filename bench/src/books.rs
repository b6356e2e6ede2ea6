//! The books after a run, read from Postgres: actions committed, ledger entries, wallets whose
//! balance disagrees with their ledger or their actions, and the jobs lost or doubled against
//! the number the API accepted.

use sqlx::PgPool;

/// Counts of one database after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Books {
    /// Rows in `goodwill_actions`.
    pub actions: i64,
    /// Rows in `ledger_entries`.
    pub ledger: i64,
    /// Wallets whose balance is not the sum of their ledger or of their actions.
    pub wrong: i64,
}

impl Books {
    /// Reads the books of `pool`.
    pub async fn read(pool: &PgPool) -> sqlx::Result<Self> {
        sqlx::query_as!(
            Books,
            r#"SELECT (SELECT count(*) FROM goodwill_actions) AS "actions!",
                  (SELECT count(*) FROM ledger_entries) AS "ledger!",
                  (SELECT count(*) FROM wallets w
                   WHERE w.balance <> (SELECT COALESCE(sum(amount), 0) FROM ledger_entries l WHERE l.wallet_id = w.id)
                      OR w.balance <> (SELECT COALESCE(sum(loves_value), 0) FROM goodwill_actions a WHERE a.performer_user_id = w.user_id))
                  AS "wrong!""#
        )
        .fetch_one(pool)
        .await
    }

    /// Whether `expected` actions were each committed once and every balance is right.
    pub fn balanced(&self, expected: i64) -> bool {
        self.actions == expected && self.ledger == expected && self.wrong == 0
    }

    /// Accepted jobs with no action row.
    pub fn lost(&self, accepted: i64) -> i64 {
        (accepted - self.actions).max(0)
    }

    /// Effects beyond one per accepted job: surplus actions, and ledger entries beyond one per
    /// action (an action credited twice).
    pub fn doubled(&self, accepted: i64) -> i64 {
        (self.actions - accepted).max(0) + (self.ledger - self.actions).max(0)
    }
}
