//! One validator per job payload, shared by the API (which answers 422 before it accepts a
//! command) and the worker (which fails a job permanently before it writes): a payload the API
//! accepts is one the worker, and Postgres, will take.
//!
//! The rules are every rule the database would enforce (timestamp range, no NUL in text, column
//! lengths and CHECK constraints) plus the domain's own. Errors name the request's fields, so the
//! API can hand them to the client as they are.

use chrono::{DateTime, SubsecRound, Utc};

use crate::{
    domain::{
        FieldError, GoodwillDraft, PROPOSAL_DESCRIPTION_MAX_CHARS, RATIONALE_MAX_CHARS,
        TITLE_MAX_CHARS, URL_MAX_BYTES, object_has_nul, validate_goodwill,
    },
    jobs::{
        AddCouncilMember, CastVote, CreateDelegation, CreateProposal, EndCouncilMembership,
        Governance, RecordGoodwill, RegisterWebhookEndpoint, RevokeDelegation,
        SetWebhookEndpointStatus, TransitionProposal,
    },
    webhooks::EVENT_TYPES,
};

/// A payload that can say which rules it breaks.
pub trait Validate {
    /// Every broken rule, all at once, named by the request's fields; empty when valid.
    fn validate(&self) -> Vec<FieldError>;
}

pub use crate::domain::{EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, check_timestamp};

/// `value` as Postgres keeps it: whole microseconds (rounded down). Compare stored values, and
/// bind them, wherever the database checks an order (`end > start`), so two instants in the
/// same microsecond cannot pass here and break the CHECK there.
pub fn stored(value: DateTime<Utc>) -> DateTime<Utc> {
    value.trunc_subsecs(6)
}

/// Postgres refuses NUL (`\u0000`) in `text` and `jsonb`.
fn check_no_nul(field: &str, text: &str) -> Option<FieldError> {
    text.contains('\0')
        .then(|| FieldError::new(field, "must not contain NUL characters"))
}

/// A required text: not blank once trimmed, at most `max` characters as stored, no NUL.
fn check_text(errors: &mut Vec<FieldError>, field: &str, text: &str, max: usize) {
    if text.trim().is_empty() || text.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    errors.extend(check_no_nul(field, text));
}

/// `end` strictly after `start`, as Postgres will store them.
fn check_order(
    errors: &mut Vec<FieldError>,
    (start_field, start): (&str, DateTime<Utc>),
    (end_field, end): (&str, DateTime<Utc>),
) {
    if stored(end) <= stored(start) {
        errors.push(FieldError::new(
            end_field,
            format!("must be after {start_field}"),
        ));
    }
}

/// Whether `url` is an absolute `http://` or `https://` URL with a host. The scheme is matched
/// as written, lower case, because that is what the column's CHECK (`url ~ '^https?://'`) does.
fn is_http_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && url.parse::<axum::http::Uri>().is_ok_and(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.host().is_some_and(|h| !h.is_empty())
        })
}

impl Validate for RecordGoodwill {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = validate_goodwill(
            &GoodwillDraft {
                action_type: &self.action_type,
                description: &self.description,
                loves_value: i64::from(self.loves_value),
                context_bytes: serde_json::to_vec(&self.context).map_or(usize::MAX, |v| v.len()),
                context_has_nul: object_has_nul(&self.context),
                occurred_at: self.occurred_at,
            },
            self.requested_at,
        );
        errors.extend(check_timestamp("requested_at", self.requested_at));
        errors
    }
}

impl Validate for CastVote {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(rationale) = &self.rationale {
            if rationale.chars().count() > RATIONALE_MAX_CHARS {
                errors.push(FieldError::new(
                    "rationale",
                    format!("must be at most {RATIONALE_MAX_CHARS} characters"),
                ));
            }
            errors.extend(check_no_nul("rationale", rationale));
        }
        errors.extend(check_timestamp("cast_at", self.cast_at));
        errors
    }
}

impl Validate for Governance {
    fn validate(&self) -> Vec<FieldError> {
        match self {
            Governance::CreateProposal(c) => c.validate(),
            Governance::TransitionProposal(c) => c.validate(),
            Governance::CreateDelegation(c) => c.validate(),
            Governance::RevokeDelegation(c) => c.validate(),
            Governance::AddCouncilMember(c) => c.validate(),
            Governance::RegisterWebhookEndpoint(c) => c.validate(),
            Governance::EndCouncilMembership(c) => c.validate(),
            Governance::SetWebhookEndpointStatus(c) => c.validate(),
        }
    }
}

impl Validate for CreateProposal {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_text(&mut errors, "title", &self.title, TITLE_MAX_CHARS);
        check_text(
            &mut errors,
            "description",
            &self.description,
            PROPOSAL_DESCRIPTION_MAX_CHARS,
        );
        // `contains` is false for NaN, so NaN is refused too.
        if !(0.0..=1.0).contains(&self.required_quorum) {
            errors.push(FieldError::new(
                "required_quorum",
                "must be between 0 and 1",
            ));
        }
        let start = check_timestamp("vote_start_time", self.vote_start_time);
        let end = check_timestamp("vote_end_time", self.vote_end_time);
        let in_range = start.is_none() && end.is_none();
        errors.extend(start);
        errors.extend(end);
        if in_range {
            check_order(
                &mut errors,
                ("vote_start_time", self.vote_start_time),
                ("vote_end_time", self.vote_end_time),
            );
        }
        errors
    }
}

/// Ids and an enum only: serde already refused anything else.
impl Validate for TransitionProposal {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

impl Validate for CreateDelegation {
    fn validate(&self) -> Vec<FieldError> {
        if self.delegator_id == self.delegate_id {
            vec![FieldError::new(
                "delegate_id",
                "a member cannot delegate to itself",
            )]
        } else {
            Vec::new()
        }
    }
}

/// Ids only: serde already refused anything else.
impl Validate for RevokeDelegation {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

impl Validate for AddCouncilMember {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let start = check_timestamp("start_date", self.start_date);
        let start_ok = start.is_none();
        errors.extend(start);
        if let Some(end_date) = self.end_date {
            match check_timestamp("end_date", end_date) {
                Some(error) => errors.push(error),
                None if start_ok => check_order(
                    &mut errors,
                    ("start_date", self.start_date),
                    ("end_date", end_date),
                ),
                None => {}
            }
        }
        errors
    }
}

impl Validate for RegisterWebhookEndpoint {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let url = &self.url;
        if url.len() > URL_MAX_BYTES || !is_http_url(url) {
            errors.push(FieldError::new(
                "url",
                format!(
                    "must be an absolute http:// or https:// URL of at most \
                     {URL_MAX_BYTES} characters"
                ),
            ));
        }
        if self.event_types.is_empty() {
            errors.push(FieldError::new(
                "event_types",
                "must name at least one event type",
            ));
        }
        for t in &self.event_types {
            if !EVENT_TYPES.contains(&t.as_str()) {
                errors.push(FieldError::new(
                    "event_types",
                    format!(
                        "unknown event type `{}` (known: {})",
                        t.escape_debug(),
                        EVENT_TYPES.join(", ")
                    ),
                ));
            }
        }
        if self.secret.expose().is_empty() {
            errors.push(FieldError::new("secret", "must not be empty"));
        }
        errors.extend(check_no_nul("secret", self.secret.expose()));
        errors
    }
}

/// Most characters of the reason an endpoint is disabled for.
pub const DISABLED_REASON_MAX_CHARS: usize = 500;

impl Validate for SetWebhookEndpointStatus {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(reason) = &self.reason {
            check_text(&mut errors, "reason", reason, DISABLED_REASON_MAX_CHARS);
        }
        errors
    }
}

impl Validate for EndCouncilMembership {
    fn validate(&self) -> Vec<FieldError> {
        check_timestamp("end_date", self.end_date)
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests;
