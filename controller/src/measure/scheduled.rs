//! Work the schedules are about to enqueue, known before they run: for each schedule that fans
//! out jobs, its next run (from the shared cron catalogue, as the workers read it) and the jobs
//! that run will enqueue. Today one does: a distribution period splits the member wallets into
//! chunks of `DISTRIBUTION_CHUNK`, one `distribution` job each (`wallets ÷ chunk`, rounded up).
//!
//! Counting wallets costs a scan, so it is done only when the run is within the lookahead (the
//! decision's pre-scaling lead); further runs are not reported.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use coin_shared::{
    jobs::{DistributionChunk, Job},
    schedules::{CronSettings, InvalidCron, ScheduleKind},
};
use serde::Serialize;
use sqlx::PgPool;

/// One coming run of a schedule and the jobs it will enqueue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledWork {
    /// The schedule, as the catalogue names it (`distribution`).
    pub schedule: &'static str,
    /// The queue its jobs go to.
    pub queue: &'static str,
    /// When it runs next.
    pub at: DateTime<Utc>,
    /// What the run covers (wallets, for a distribution).
    pub items: u64,
    /// Jobs it will enqueue: `items ÷ chunk`, rounded up.
    pub jobs: u64,
}

/// What the controller knows of the schedules that fan out work, from its settings (the same
/// variables the workers read).
#[derive(Debug, Clone)]
pub struct ScheduledSources {
    cron: CronSettings,
    /// Wallets per distribution job; `None` when distribution is off (`DISTRIBUTION_AMOUNT` 0).
    distribution_chunk: Option<u32>,
    lookahead: Duration,
}

impl ScheduledSources {
    /// Nothing scheduled is looked at (pre-scaling off).
    pub fn none() -> Self {
        Self {
            cron: CronSettings::default(),
            distribution_chunk: None,
            lookahead: Duration::ZERO,
        }
    }

    /// The distribution schedule of `cron`, paying `distribution_amount` per wallet in chunks of
    /// `distribution_chunk` wallets, looked at when its run is within `lookahead`; a zero
    /// lookahead or amount looks at nothing. Errors when the expression does not parse (the
    /// workers refuse it too).
    pub fn new(
        cron: &CronSettings,
        distribution_amount: u64,
        distribution_chunk: u32,
        lookahead: Duration,
    ) -> Result<Self, InvalidCron> {
        let on = distribution_amount > 0 && distribution_chunk > 0 && !lookahead.is_zero();
        if on {
            for schedule in cron.all() {
                if schedule.kind == ScheduleKind::Distribution {
                    schedule.parsed()?;
                }
            }
        }
        Ok(Self {
            cron: cron.clone(),
            distribution_chunk: on.then_some(distribution_chunk),
            lookahead,
        })
    }

    /// The fan-out schedules' next runs after `now` that fall within the lookahead, with their
    /// chunk sizes. Pure.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<(ScheduleKind, &'static str, DateTime<Utc>, u32)> {
        let Some(chunk) = self.distribution_chunk else {
            return Vec::new();
        };
        let horizon = TimeDelta::from_std(self.lookahead).unwrap_or(TimeDelta::MAX);
        self.cron
            .all()
            .into_iter()
            .filter(|s| s.kind == ScheduleKind::Distribution)
            .filter_map(|s| {
                let at = s.next_after(now).ok().flatten()?;
                (at - now <= horizon).then_some((s.kind, s.name, at, chunk))
            })
            .collect()
    }
}

/// Jobs a run of `items` makes in chunks of `chunk`: `items ÷ chunk`, rounded up.
pub fn jobs_for(items: u64, chunk: u32) -> u64 {
    items.div_ceil(u64::from(chunk.max(1)))
}

/// The coming runs within the lookahead and their jobs; an error means Postgres did not answer.
pub async fn measure(
    pool: &PgPool,
    sources: &ScheduledSources,
    now: DateTime<Utc>,
) -> Result<Vec<ScheduledWork>, sqlx::Error> {
    let mut work = Vec::new();
    for (kind, name, at, chunk) in sources.due(now) {
        let (queue, items) = match kind {
            ScheduleKind::Distribution => (DistributionChunk::QUEUE, wallets(pool, at).await?),
            _ => continue,
        };
        work.push(ScheduledWork {
            schedule: name,
            queue,
            at,
            items,
            jobs: jobs_for(items, chunk),
        });
    }
    Ok(work)
}

/// The wallets a distribution at `at` credits: members' wallets created by then (as
/// `schedules::distribution` counts them in the worker).
async fn wallets(pool: &PgPool, at: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "wallets!" FROM wallets w JOIN users u ON u.id = w.user_id
           WHERE NOT u.system_account AND w.created_at <= $1"#,
        at
    )
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeDelta, TimeZone, Utc};
    use coin_shared::schedules::CronSettings;

    use crate::measure::scheduled::{ScheduledSources, jobs_for};

    #[test]
    fn jobs_are_wallets_over_the_chunk_rounded_up() {
        assert_eq!(jobs_for(0, 1_000), 0);
        assert_eq!(jobs_for(1, 1_000), 1);
        assert_eq!(jobs_for(2_000, 1_000), 2);
        assert_eq!(jobs_for(2_001, 1_000), 3);
    }

    #[test]
    fn only_a_run_within_the_lookahead_is_due_and_only_when_distribution_is_on() {
        let cron = CronSettings::default();
        let lead = Duration::from_secs(60);
        let monday = Utc.with_ymd_and_hms(2026, 2, 16, 0, 0, 0).single();
        let monday = monday.expect("date");
        let sources = ScheduledSources::new(&cron, 10, 500, lead).expect("valid");
        let due = sources.due(monday - TimeDelta::seconds(30));
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].1, due[0].2, due[0].3),
            ("distribution", monday, 500)
        );
        assert!(sources.due(monday - TimeDelta::seconds(61)).is_empty());
        assert!(sources.due(monday).is_empty(), "the next run is a week on");
        let off = ScheduledSources::new(&cron, 0, 500, lead).expect("valid");
        assert!(off.due(monday - TimeDelta::seconds(30)).is_empty());
        let no_lead = ScheduledSources::new(&cron, 10, 500, Duration::ZERO).expect("valid");
        assert!(no_lead.due(monday - TimeDelta::seconds(30)).is_empty());
    }

    #[test]
    fn a_bad_expression_is_refused_when_pre_scaling_is_on() {
        let cron = CronSettings {
            distribution_cron: "weekly".into(),
            ..CronSettings::default()
        };
        let lead = Duration::from_secs(60);
        let e = ScheduledSources::new(&cron, 10, 500, lead).expect_err("invalid");
        assert!(e.to_string().contains("DISTRIBUTION_CRON"), "{e}");
        assert!(ScheduledSources::new(&cron, 0, 500, lead).is_ok());
    }
}
