//! The autoscaler's what-if: "with these bounds and targets, the last snapshot would give N
//! replicas". The pure `decide` runs again on the loop's last snapshot and the history it had
//! then, with the operator's values in place of the policy's; nothing is applied or recorded.

use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout;
use crate::{
    control_loop::Observed,
    decide::{History, Policy, decide},
};

/// The what-if form's fields, all optional text so any input gets a readable answer; an empty
/// field keeps the policy's value.
#[derive(Debug, Default, Deserialize)]
pub struct WhatIf {
    #[serde(default)]
    min: Option<String>,
    #[serde(default)]
    max: Option<String>,
    #[serde(default)]
    target_backlog: Option<String>,
    #[serde(default)]
    drain_target_secs: Option<String>,
}

impl WhatIf {
    /// Whether the form was submitted at all.
    pub fn asked(&self) -> bool {
        [
            &self.min,
            &self.max,
            &self.target_backlog,
            &self.drain_target_secs,
        ]
        .iter()
        .any(|f| f.as_deref().is_some_and(|v| !v.trim().is_empty()))
    }

    /// `policy` with the fields given; a readable refusal for a value that is not one.
    pub fn policy(&self, policy: &Policy) -> Result<Policy, String> {
        fn given(field: &Option<String>) -> Option<&str> {
            field.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        fn whole(name: &str, raw: &str) -> Result<u32, String> {
            raw.parse()
                .map_err(|_| format!("{name} must be a whole number of replicas, not {raw:?}"))
        }
        fn positive(name: &str, raw: &str) -> Result<f64, String> {
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| format!("{name} must be a positive number, not {raw:?}"))
        }
        let mut p = policy.clone();
        if let Some(raw) = given(&self.min) {
            p.min_replicas = whole("min", raw)?;
        }
        if let Some(raw) = given(&self.max) {
            p.max_replicas = whole("max", raw)?;
        }
        if let Some(raw) = given(&self.target_backlog) {
            p.target_backlog_per_replica = positive("target backlog", raw)?;
        }
        if let Some(raw) = given(&self.drain_target_secs) {
            let secs = positive("drain target", raw)?;
            p.drain_target = std::time::Duration::try_from_secs_f64(secs)
                .map_err(|_| format!("drain target {raw:?} is out of range"))?;
        }
        if p.min_replicas > p.max_replicas {
            return Err(format!(
                "min ({}) must not exceed max ({})",
                p.min_replicas, p.max_replicas
            ));
        }
        Ok(p)
    }
}

fn field(name: &str, label: &str, value: &Option<String>, placeholder: String) -> Markup {
    html! {
        label for={"whatif-" (name)} { (label) }
        input id={"whatif-" (name)} name=(name) inputmode="decimal"
            value=(value.as_deref().unwrap_or_default()) placeholder=(placeholder);
    }
}

/// The what-if form, and its answer when it was asked.
pub fn section(observed: &Observed, policy: &Policy, asked: &WhatIf) -> Markup {
    let answer = asked.asked().then(|| {
        let snapshot = observed.snapshot.as_ref().ok_or_else(|| {
            "the loop has not measured anything yet; try again after its first tick".to_owned()
        })?;
        let what_if = asked.policy(policy)?;
        let history = observed.history.clone().unwrap_or_else(History::warmed_up);
        // Judged as of the snapshot, so a snapshot a few seconds old is not "stale".
        let at = snapshot.at.min(Utc::now());
        Ok::<_, String>(decide(snapshot, &history, &what_if, at))
    });
    html! {
        h2 id="what-if" { "What if" }
        p.hint { "The last snapshot, decided again with these values (empty keeps the policy's) and the history the loop had: nothing is applied." }
        form.whatif method="get" action="/autoscaler#what-if" {
            (field("min", "Fewest replicas", &asked.min, policy.min_replicas.to_string()))
            (field("max", "Most replicas", &asked.max, policy.max_replicas.to_string()))
            (field("target_backlog", "Backlog per replica", &asked.target_backlog, format!("{}", policy.target_backlog_per_replica)))
            (field("drain_target_secs", "Drain target (s)", &asked.drain_target_secs, format!("{}", policy.drain_target.as_secs_f64())))
            button type="submit" { "Decide" }
        }
        @match answer {
            None => {}
            Some(Err(why)) => p.error id="what-if-answer" role="alert" { (why) },
            Some(Ok(d)) => div id="what-if-answer" role="status" {
                p { "The last snapshot would give " strong id="what-if-replicas" { (d.desired) } " replicas ("
                    code { (d.reason.as_str()) } "); the loop decided "
                    (observed.decision.as_ref().map_or_else(|| "nothing yet".to_owned(), |l| l.desired.to_string())) "." }
                ul { @for note in &d.notes { li { (note) } } }
                p.muted { "Snapshot of " (layout::time(observed.snapshot.as_ref().map(|s| s.at))) "." }
            },
        }
    }
}
