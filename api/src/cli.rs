//! Command line of `coin-api`: serve (the default), `token`, `migrate`.

use clap::{Args, Parser, Subcommand};
use coin_shared::config::{DatabaseSettings, TelemetrySettings};
use secrecy::SecretString;
use uuid::Uuid;

use crate::{auth::Role, settings::ApiSettings};

/// People's Coin HTTP API: accepts commands, validates them and enqueues jobs.
#[derive(Debug, Parser)]
#[command(name = "coin-api", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; without one, serve the API.
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub serve: ApiSettings,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve(Box<ApiSettings>),
    /// Print a signed bearer token (its last line) for operators, scripts and tests.
    Token(TokenArgs),
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        #[allow(missing_docs)]
        database: DatabaseSettings,
        #[command(flatten)]
        #[allow(missing_docs)]
        telemetry: TelemetrySettings,
    },
}

/// `coin-api token` arguments.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The user id the token speaks for.
    #[arg(long)]
    pub sub: Uuid,
    /// The role it carries.
    #[arg(long, value_enum)]
    pub role: Role,
    /// How long it stays valid, e.g. `30m`, `1h`, `7d`.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: chrono::Duration,
    /// The HS256 signing secret.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: SecretString,
    /// The longest lifetime the API accepts (its `JWT_MAX_LIFETIME_SECS`): a longer `--ttl`
    /// is refused here rather than by every request.
    #[arg(long, env = "JWT_MAX_LIFETIME_SECS", default_value_t = 86_400)]
    pub max_lifetime_secs: i64,
}

/// Parses `90s`, `30m`, `1h`, `7d` (a bare number is seconds).
pub fn parse_ttl(raw: &str) -> Result<chrono::Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let amount: i64 = digits
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration like 90s, 30m, 1h or 7d"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` (use s, m, h or d)"
            ));
        }
    };
    if amount == 0 {
        return Err("the token's time to live must be positive".into());
    }
    amount
        .checked_mul(seconds)
        .filter(|s| *s <= 366 * 86_400)
        .map(chrono::Duration::seconds)
        .ok_or_else(|| "the token's time to live must be at most 366 days".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_accepts_seconds_minutes_hours_and_days() {
        assert_eq!(parse_ttl("90"), Ok(chrono::Duration::seconds(90)));
        assert_eq!(parse_ttl("30m"), Ok(chrono::Duration::minutes(30)));
        assert_eq!(parse_ttl("1h"), Ok(chrono::Duration::hours(1)));
        assert_eq!(parse_ttl("7d"), Ok(chrono::Duration::days(7)));
    }

    #[test]
    fn ttl_refuses_garbage_zero_and_absurd_lengths() {
        for bad in ["", "h", "1y", "0", "-5m", "999999999d"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
