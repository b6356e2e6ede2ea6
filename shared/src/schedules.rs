//! The cron schedules the workers run, named once: each schedule's name, the variable holding
//! its expression and that expression's default. The worker reads them to run the schedules;
//! the controller reads the same variables to show them on the console's `/schedules`.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use clap::Args;

/// The five schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    /// Moves outbox rows into the queues (no record of its runs: it runs every second).
    Relay,
    /// Closes proposals whose voting window has passed.
    AutoClose,
    /// Starts a distribution period (recorded in `distribution_periods`).
    Distribution,
    /// Checks balances against the ledger and closed tallies.
    Reconciliation,
    /// Prunes old deliveries, command claims and schedule runs.
    Retention,
}

impl ScheduleKind {
    /// The name its claims carry in `schedule_runs.schedule` (and its metrics), for the
    /// schedules that claim each tick there.
    pub fn run_name(self) -> Option<&'static str> {
        match self {
            Self::AutoClose => Some("auto_close"),
            Self::Reconciliation => Some("reconciliation"),
            Self::Retention => Some("retention"),
            Self::Relay | Self::Distribution => None,
        }
    }
}

/// One schedule as configured.
#[derive(Debug, Clone, Copy)]
pub struct Schedule<'a> {
    /// Which one.
    pub kind: ScheduleKind,
    /// Its name (in its worker's name, on the console).
    pub name: &'static str,
    /// The variable holding its expression, for messages, e.g. `RELAY_CRON`.
    pub env: &'static str,
    /// The cron expression (seconds first); empty turns the schedule off.
    pub expression: &'a str,
    /// What it does, in words.
    pub purpose: &'static str,
}

impl Schedule<'_> {
    /// Its parsed expression; `None` when it is off.
    pub fn parsed(&self) -> Result<Option<cron::Schedule>, InvalidCron> {
        parse(self.env, self.expression)
    }

    /// Its first run strictly after `at`; `None` when it is off or will never run again.
    pub fn next_after(&self, at: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, InvalidCron> {
        Ok(self.parsed()?.and_then(|cron| cron.after(&at).next()))
    }
}

/// The cron expressions of the schedules (apalis-cron; seconds first: `sec min hour day month
/// weekday [year]`, in UTC). An empty expression turns a schedule off.
#[derive(Debug, Clone, Args)]
pub struct CronSettings {
    /// Moves outbox rows (webhook deliveries, distribution chunks) into the queues.
    #[arg(long, env = "RELAY_CRON", default_value = "* * * * * *")]
    pub relay_cron: String,

    /// Closes ACTIVE proposals whose `vote_end_time` has passed, storing the final tally.
    #[arg(long, env = "AUTO_CLOSE_CRON", default_value = "0 * * * * *")]
    pub auto_close_cron: String,

    /// Starts a distribution period (default: Mondays 00:00 UTC).
    #[arg(long, env = "DISTRIBUTION_CRON", default_value = "0 0 0 * * Mon")]
    pub distribution_cron: String,

    /// Checks balances against the ledger and closed tallies against a recomputation.
    #[arg(long, env = "RECONCILIATION_CRON", default_value = "0 30 * * * *")]
    pub reconciliation_cron: String,

    /// Prunes delivered webhook attempts, old command claims and old schedule runs.
    #[arg(long, env = "RETENTION_CRON", default_value = "0 15 3 * * *")]
    pub retention_cron: String,
}

impl Default for CronSettings {
    fn default() -> Self {
        Self {
            relay_cron: "* * * * * *".into(),
            auto_close_cron: "0 * * * * *".into(),
            distribution_cron: "0 0 0 * * Mon".into(),
            reconciliation_cron: "0 30 * * * *".into(),
            retention_cron: "0 15 3 * * *".into(),
        }
    }
}

impl CronSettings {
    /// Every schedule, in registration order.
    pub fn all(&self) -> [Schedule<'_>; 5] {
        fn schedule<'a>(
            kind: ScheduleKind,
            name: &'static str,
            env: &'static str,
            expression: &'a str,
            purpose: &'static str,
        ) -> Schedule<'a> {
            Schedule {
                kind,
                name,
                env,
                expression,
                purpose,
            }
        }
        [
            schedule(
                ScheduleKind::Relay,
                "relay",
                "RELAY_CRON",
                &self.relay_cron,
                "Moves outbox rows (webhook deliveries, distribution chunks) into the queues.",
            ),
            schedule(
                ScheduleKind::AutoClose,
                "auto-close",
                "AUTO_CLOSE_CRON",
                &self.auto_close_cron,
                "Closes ACTIVE proposals whose voting window has passed.",
            ),
            schedule(
                ScheduleKind::Distribution,
                "distribution",
                "DISTRIBUTION_CRON",
                &self.distribution_cron,
                "Starts a distribution period from the community pool.",
            ),
            schedule(
                ScheduleKind::Reconciliation,
                "reconciliation",
                "RECONCILIATION_CRON",
                &self.reconciliation_cron,
                "Checks balances against the ledger and closed tallies.",
            ),
            schedule(
                ScheduleKind::Retention,
                "retention",
                "RETENTION_CRON",
                &self.retention_cron,
                "Prunes delivered webhooks, old command claims and schedule runs.",
            ),
        ]
    }
}

/// A cron expression that does not parse, with the variable it came from.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid cron expression for {env}: `{expression}` ({reason}); expressions have 6 or 7 \
     fields, seconds first, e.g. `0 0 0 * * Mon`"
)]
pub struct InvalidCron {
    /// The variable.
    pub env: String,
    /// What it held.
    pub expression: String,
    /// Why it does not parse.
    pub reason: String,
}

/// Parses a cron expression (seconds first); `None` when it is empty (schedule off).
pub fn parse(env: &str, expression: &str) -> Result<Option<cron::Schedule>, InvalidCron> {
    let expression = expression.trim();
    if expression.is_empty() {
        return Ok(None);
    }
    cron::Schedule::from_str(expression)
        .map(Some)
        .map_err(|e| InvalidCron {
            env: env.to_owned(),
            expression: expression.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::schedules::{CronSettings, parse};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        cron: CronSettings,
    }

    #[test]
    fn the_defaults_parse_and_match_their_flags() {
        let cli = Cli::try_parse_from(["x"]).expect("defaults parse");
        let (flags, defaults) = (cli.cron.all(), CronSettings::default());
        for (flag, default) in flags.iter().zip(defaults.all()) {
            assert_eq!(flag.expression, default.expression, "{}", flag.env);
            assert!(flag.parsed().expect("valid").is_some(), "{}", flag.env);
        }
    }

    #[test]
    fn the_next_run_is_the_first_tick_strictly_after_the_instant() {
        use chrono::{TimeZone, Utc};
        let settings = CronSettings::default();
        let [.., distribution, _, _] = settings.all();
        let monday = Utc.with_ymd_and_hms(2026, 2, 16, 0, 0, 0).single();
        let sunday = Utc.with_ymd_and_hms(2026, 2, 15, 23, 59, 0).single();
        let next = |at| distribution.next_after(at).expect("valid");
        assert_eq!(next(sunday.expect("date")), monday);
        let after = monday.map(|m| next(m).expect("weekly") - m);
        assert_eq!(after, Some(chrono::TimeDelta::days(7)));
        let off = CronSettings {
            distribution_cron: String::new(),
            ..CronSettings::default()
        };
        assert_eq!(
            off.all()[2].next_after(sunday.expect("date")).ok(),
            Some(None)
        );
    }

    #[test]
    fn an_empty_expression_is_off_and_a_bad_one_names_its_variable() {
        assert!(parse("RELAY_CRON", "  ").expect("empty is fine").is_none());
        let e = parse("RETENTION_CRON", "every day").expect_err("not cron");
        assert!(e.to_string().contains("RETENTION_CRON"), "{e}");
    }
}
