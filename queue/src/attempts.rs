//! A job's failed attempts, as its meta hash (`:job:<id>`) keeps them.
//!
//! Every delivery that fails (a transient error scheduled for a retry, the error that sent the
//! job to the dead set, or a delivery lost with its worker) appends one field
//! `failure:<n>` = `<attempt>,<started_at_ms>,<ended_at_ms>,<outcome>,<error>`, where `n`
//! counts every failure the job ever had (the `failures` field) and `outcome` is `retried`,
//! `gave_up` or `lost`; only the last [`FAILURES_KEPT`] stay. `lua/lib/failure.lua` writes them
//! (from `ack.lua` and `note.lua`, which already write that hash on the failure path), so a
//! success costs nothing more, the entries expire with the meta, go with it when the job is
//! deleted, and survive a replay (which only clears `status`). [`from_meta`] reads them back
//! from the hash the status read already fetches.

use std::collections::HashMap;

/// Failed attempts a job's meta hash keeps (the oldest is dropped when one more fails).
pub const FAILURES_KEPT: usize = 20;

/// Field prefix of one failed attempt in the meta hash (`failure:<n>`).
const FIELD_PREFIX: &str = "failure:";

/// How a failed attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// A transient failure: the job was scheduled to run again.
    Retried,
    /// The failure that sent the job to the dead set (permanent, or attempts exhausted).
    GaveUp,
    /// Its worker was lost mid-delivery; orphan recovery put the job back in ready.
    Lost,
}

impl AttemptOutcome {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "retried" => Some(Self::Retried),
            "gave_up" => Some(Self::GaveUp),
            "lost" => Some(Self::Lost),
            _ => None,
        }
    }
}

/// One failed delivery of a job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailedAttempt {
    /// Which delivery it was (1 for the first; counting restarts after a replay).
    pub attempt: u32,
    /// When the delivery started (ms since epoch), if known.
    pub started_at_ms: Option<i64>,
    /// When it failed, or when its loss was noticed (ms since epoch).
    pub failed_at_ms: i64,
    /// Retried, gave up, or lost with its worker.
    pub outcome: AttemptOutcome,
    /// The error (or why the delivery was lost).
    pub error: String,
}

impl FailedAttempt {
    /// Parses one `failure:<n>` value; `None` if it is not in the written format.
    fn parse(value: &str) -> Option<Self> {
        let mut parts = value.splitn(5, ',');
        let attempt = parts.next()?.parse::<i64>().ok()?;
        let started = parts.next()?.parse::<i64>().ok()?;
        let failed_at_ms = parts.next()?.parse::<i64>().ok()?;
        let outcome = AttemptOutcome::parse(parts.next()?)?;
        Some(Self {
            attempt: u32::try_from(attempt).unwrap_or(0),
            started_at_ms: (started > 0).then_some(started),
            failed_at_ms,
            outcome,
            error: parts.next().unwrap_or_default().to_owned(),
        })
    }
}

/// The failed attempts a meta hash holds, oldest first.
pub(crate) fn from_meta(meta: &HashMap<String, String>) -> Vec<FailedAttempt> {
    let mut numbered: Vec<(u64, FailedAttempt)> = meta
        .iter()
        .filter_map(|(field, value)| {
            let n = field.strip_prefix(FIELD_PREFIX)?.parse().ok()?;
            Some((n, FailedAttempt::parse(value)?))
        })
        .collect();
    numbered.sort_by_key(|(n, _)| *n);
    numbered.into_iter().map(|(_, attempt)| attempt).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::attempts::{AttemptOutcome, FailedAttempt, from_meta};

    #[test]
    fn entries_are_read_in_the_order_they_were_written_and_others_are_ignored() {
        let meta: HashMap<String, String> = [
            ("failure:10", "1,500,600,retried,a, with a comma"),
            ("failure:9", "2,0,400,lost,requeued: worker w lost"),
            ("failure:11", "2,700,800,gave_up,"),
            ("failure:12", "not an entry"),
            ("failures", "11"),
            ("last_error", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            from_meta(&meta),
            vec![
                FailedAttempt {
                    attempt: 2,
                    started_at_ms: None,
                    failed_at_ms: 400,
                    outcome: AttemptOutcome::Lost,
                    error: "requeued: worker w lost".into(),
                },
                FailedAttempt {
                    attempt: 1,
                    started_at_ms: Some(500),
                    failed_at_ms: 600,
                    outcome: AttemptOutcome::Retried,
                    error: "a, with a comma".into(),
                },
                FailedAttempt {
                    attempt: 2,
                    started_at_ms: Some(700),
                    failed_at_ms: 800,
                    outcome: AttemptOutcome::GaveUp,
                    error: String::new(),
                },
            ]
        );
    }
}
