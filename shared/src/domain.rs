//! Domain rules that both the API (to answer 422 at once) and the worker (to fail a job
//! permanently instead of retrying it) apply to the same payloads: the limits live here, and
//! [`crate::validate`] applies them to every job payload.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

/// The points a single goodwill action can be worth.
pub const LOVES_VALUE_RANGE: std::ops::RangeInclusive<i32> = 1..=100;
/// Longest `action_type`, in characters.
pub const ACTION_TYPE_MAX_CHARS: usize = 100;
/// Longest `description`, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 5_000;
/// Largest serialized `contextual_data`, in bytes.
pub const CONTEXT_MAX_BYTES: usize = 16 * 1024;
/// Longest proposal title, in characters (the column is `varchar(255)`).
pub const TITLE_MAX_CHARS: usize = 255;
/// Longest proposal description, in characters.
pub const PROPOSAL_DESCRIPTION_MAX_CHARS: usize = 20_000;
/// Longest vote rationale, in characters.
pub const RATIONALE_MAX_CHARS: usize = 2_000;
/// Longest webhook endpoint URL, in bytes.
pub const URL_MAX_BYTES: usize = 2_000;
/// Voting lasts this long unless the proposal says otherwise.
pub const DEFAULT_VOTING_DAYS: i64 = 7;
/// How far in the future a client's `occurred_at` may be (clock skew allowance), as in the
/// original People's Coin validator.
pub const MAX_FUTURE_SKEW: Duration = Duration::seconds(300);

/// One field that breaks a rule, reported to the client as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The JSON field at fault, e.g. `loves_value`.
    pub field: String,
    /// What is wrong with it, in words a client developer can act on.
    pub message: String,
}

impl FieldError {
    /// A rule broken by `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The earliest instant a Postgres `timestamptz` stores: 4714-11-24 BC, 00:00 UTC (year -4713
/// in chrono's proleptic Gregorian numbering, where year 0 is 1 BC).
pub const EARLIEST_TIMESTAMP: DateTime<Utc> = match NaiveDate::from_ymd_opt(-4713, 11, 24) {
    Some(day) => match day.and_hms_opt(0, 0, 0) {
        Some(at) => at.and_utc(),
        None => panic!("midnight exists"),
    },
    None => panic!("-4713-11-24 is a date"),
};

/// The latest instant a command may carry: the end of year 9999. Postgres would store more
/// (to 294276 AD), but RFC 3339, the format every answer and webhook payload carries dates in,
/// has four-digit years, and the headroom keeps every later date computation (a default voting
/// period, a retention window) far from chrono's own end, where arithmetic overflows.
pub const LATEST_TIMESTAMP: DateTime<Utc> = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(day) => match day.and_hms_micro_opt(23, 59, 59, 999_999) {
        Some(at) => at.and_utc(),
        None => panic!("the last microsecond exists"),
    },
    None => panic!("9999-12-31 is a date"),
};

/// The rule for every timestamp of every payload: within
/// [`EARLIEST_TIMESTAMP`]..=[`LATEST_TIMESTAMP`].
pub fn check_timestamp(field: &str, value: DateTime<Utc>) -> Option<FieldError> {
    (!(EARLIEST_TIMESTAMP..=LATEST_TIMESTAMP).contains(&value)).then(|| {
        FieldError::new(
            field,
            "must be from -4713-11-24T00:00:00Z (4714 BC) to 9999-12-31T23:59:59.999999Z",
        )
    })
}

/// The parts of a goodwill action that rules apply to.
#[derive(Debug, Clone, Copy)]
pub struct GoodwillDraft<'a> {
    /// What kind of good was done, e.g. `volunteering`.
    pub action_type: &'a str,
    /// Free text describing it.
    pub description: &'a str,
    /// Points it is worth.
    pub loves_value: i64,
    /// Serialized size of the client's context object.
    pub context_bytes: usize,
    /// Whether the context object holds a NUL character anywhere (Postgres cannot store it).
    pub context_has_nul: bool,
    /// When it happened, by the client's clock.
    pub occurred_at: DateTime<Utc>,
}

/// A text that must not be empty and may hold at most `max` characters. Emptiness is judged
/// trimmed, length as stored (the column's CHECK sees the stored text).
fn required_text(field: &'static str, value: &str, max: usize) -> Option<FieldError> {
    if value.trim().is_empty() {
        Some(FieldError::new(field, "must not be empty"))
    } else if value.chars().count() > max {
        Some(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ))
    } else {
        None
    }
}

/// Checks every rule and returns all broken ones at once, so a client fixes its request in one go.
pub fn validate_goodwill(draft: &GoodwillDraft<'_>, now: DateTime<Utc>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    errors.extend(required_text(
        "action_type",
        draft.action_type,
        ACTION_TYPE_MAX_CHARS,
    ));
    errors.extend(required_text(
        "description",
        draft.description,
        DESCRIPTION_MAX_CHARS,
    ));
    if !(i64::from(*LOVES_VALUE_RANGE.start())..=i64::from(*LOVES_VALUE_RANGE.end()))
        .contains(&draft.loves_value)
    {
        errors.push(FieldError::new(
            "loves_value",
            format!(
                "must be an integer from {} to {}",
                LOVES_VALUE_RANGE.start(),
                LOVES_VALUE_RANGE.end()
            ),
        ));
    }
    for (field, text) in [
        ("action_type", draft.action_type),
        ("description", draft.description),
    ] {
        if text.contains('\0') {
            errors.push(FieldError::new(field, "must not contain NUL characters"));
        }
    }
    if draft.context_has_nul {
        errors.push(FieldError::new(
            "contextual_data",
            "must not contain NUL characters",
        ));
    }
    if draft.context_bytes > CONTEXT_MAX_BYTES {
        errors.push(FieldError::new(
            "contextual_data",
            format!("must serialize to at most {CONTEXT_MAX_BYTES} bytes"),
        ));
    }
    // Checked: `now` comes from a payload and may sit at the end of chrono's range.
    let latest = now.checked_add_signed(MAX_FUTURE_SKEW).unwrap_or(now);
    if let Some(error) = check_timestamp("occurred_at", draft.occurred_at) {
        errors.push(error);
    } else if draft.occurred_at > latest {
        errors.push(FieldError::new(
            "occurred_at",
            format!(
                "must not be more than {} seconds in the future",
                MAX_FUTURE_SKEW.num_seconds()
            ),
        ));
    }
    errors
}

/// Whether a JSON object holds a NUL character in any key or string, at any depth.
pub fn object_has_nul(map: &serde_json::Map<String, serde_json::Value>) -> bool {
    map.iter()
        .any(|(k, v)| k.contains('\0') || value_has_nul(v))
}

fn value_has_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(value_has_nul),
        serde_json::Value::Object(map) => object_has_nul(map),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(now: DateTime<Utc>) -> GoodwillDraft<'static> {
        GoodwillDraft {
            action_type: "volunteering",
            description: "Helped at the food bank",
            loves_value: 10,
            context_bytes: 2,
            context_has_nul: false,
            occurred_at: now,
        }
    }

    #[test]
    fn nul_characters_are_refused_in_texts_and_context() {
        let now = Utc::now();
        let bad = GoodwillDraft {
            description: "a\0b",
            context_has_nul: true,
            ..draft(now)
        };
        let fields: Vec<_> = validate_goodwill(&bad, now)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["description", "contextual_data"]);
    }

    #[test]
    fn a_valid_action_breaks_no_rule() {
        let now = Utc::now();
        assert!(validate_goodwill(&draft(now), now).is_empty());
    }

    #[test]
    fn loves_value_outside_1_to_100_is_refused_at_both_ends() {
        let now = Utc::now();
        for bad in [0, 101, -5] {
            let errors = validate_goodwill(
                &GoodwillDraft {
                    loves_value: bad,
                    ..draft(now)
                },
                now,
            );
            assert_eq!(errors.len(), 1, "{bad}");
            assert_eq!(errors[0].field, "loves_value");
        }
        for good in [1, 100] {
            let ok = GoodwillDraft {
                loves_value: good,
                ..draft(now)
            };
            assert!(validate_goodwill(&ok, now).is_empty(), "{good}");
        }
    }

    #[test]
    fn occurred_at_more_than_300_seconds_ahead_is_refused_but_300_is_allowed() {
        let now = Utc::now();
        let at_limit = GoodwillDraft {
            occurred_at: now + Duration::seconds(300),
            ..draft(now)
        };
        assert!(validate_goodwill(&at_limit, now).is_empty());
        let beyond = GoodwillDraft {
            occurred_at: now + Duration::seconds(301),
            ..draft(now)
        };
        assert_eq!(validate_goodwill(&beyond, now)[0].field, "occurred_at");
    }

    #[test]
    fn blank_texts_and_oversized_context_are_all_reported_together() {
        let now = Utc::now();
        let bad = GoodwillDraft {
            action_type: "  ",
            description: "",
            context_bytes: CONTEXT_MAX_BYTES + 1,
            ..draft(now)
        };
        let fields: Vec<_> = validate_goodwill(&bad, now)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["action_type", "description", "contextual_data"]);
    }

    #[test]
    fn texts_longer_than_their_limit_are_refused() {
        let now = Utc::now();
        let long_type = "x".repeat(ACTION_TYPE_MAX_CHARS + 1);
        let long_text = "y".repeat(DESCRIPTION_MAX_CHARS + 1);
        let bad = GoodwillDraft {
            action_type: &long_type,
            description: &long_text,
            ..draft(now)
        };
        assert_eq!(validate_goodwill(&bad, now).len(), 2);
    }
}
