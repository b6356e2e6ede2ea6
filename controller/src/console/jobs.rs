//! `/jobs`: the job search (by state, queue, kind and user, with the shared `search`) and a job
//! by id; `/jobs/{id}`: its status, attempts, error and redacted payload, with replay (dead
//! jobs) and cancel buttons, each CSRF-checked and audited.

use axum::{
    extract::{Path, Query, State, rejection::QueryRejection},
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};
use coin_shared::{
    jobs::ALL_QUEUES,
    operations::{
        Audit, BulkAction, BulkKind, CancelOutcome, DeleteOutcome, JobFilter, Operation,
        SearchState, audit_action, describe_cancel,
    },
    queue::{AttemptOutcome, FailedAttempt, JobId, JobPhase, JobStatus},
};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    audit,
    auth::{Confirmed, Operator},
    error::{ConsoleError, PageResult},
    layout::{self, query_escape},
    state::ConsoleState,
};

/// Jobs one page lists.
const PAGE: usize = 50;

const STATES: &[(&str, &str)] = &[
    ("dead", "Dead"),
    ("retrying", "Retrying"),
    ("queued", "Queued"),
    ("scheduled", "Scheduled"),
    ("running", "Running"),
    ("cancelled", "Cancelled"),
];

/// The search form's fields, all optional text so any input gets a readable answer.
#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_id(raw: &str) -> Result<Uuid, ConsoleError> {
    Uuid::parse_str(raw.trim())
        .map_err(|_| ConsoleError::BadInput(format!("{raw:?} is not a job id (a UUID)")))
}

/// The filter the form describes; unknown states, queues and malformed user ids are refused.
fn filter(q: &SearchQuery) -> Result<JobFilter, ConsoleError> {
    let state = given(&q.state).unwrap_or("dead");
    let state: SearchState =
        serde_json::from_value(Value::String(state.to_owned())).map_err(|_| {
            let known: Vec<&str> = STATES.iter().map(|(s, _)| *s).collect();
            ConsoleError::BadInput(format!(
                "unknown state {state:?}; one of {}",
                known.join(", ")
            ))
        })?;
    let queue = match given(&q.queue) {
        None => None,
        Some(name) if ALL_QUEUES.contains(&name) => Some(name.to_owned()),
        Some(name) => {
            return Err(ConsoleError::BadInput(format!(
                "unknown queue {name:?}; one of {}",
                ALL_QUEUES.join(", ")
            )));
        }
    };
    let user_id = given(&q.user)
        .map(|u| {
            Uuid::parse_str(u)
                .map_err(|_| ConsoleError::BadInput(format!("{u:?} is not a user id (a UUID)")))
        })
        .transpose()?;
    Ok(JobFilter {
        queue,
        state,
        kind: given(&q.kind).map(str::to_owned),
        user_id,
    })
}

fn state_name(state: SearchState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn next_link(f: &JobFilter, cursor: &str) -> String {
    let mut url = format!("/jobs?state={}", state_name(f.state));
    if let Some(q) = &f.queue {
        url += &format!("&queue={}", query_escape(q));
    }
    if let Some(k) = &f.kind {
        url += &format!("&kind={}", query_escape(k));
    }
    if let Some(u) = f.user_id {
        url += &format!("&user={u}");
    }
    url + "&cursor=" + &query_escape(cursor)
}

fn search_form(f: &JobFilter) -> Markup {
    let state = state_name(f.state);
    html! {
        form.filters method="get" action="/jobs" role="search" {
            div {
                label for="state" { "State" }
                select id="state" name="state" {
                    @for (value, label) in STATES {
                        option value=(value) selected[state == *value] { (label) }
                    }
                }
            }
            div {
                label for="queue" { "Queue" }
                select id="queue" name="queue" {
                    option value="" selected[f.queue.is_none()] { "every queue" }
                    @for q in ALL_QUEUES {
                        option value=(q) selected[f.queue.as_deref() == Some(*q)] { (q) }
                    }
                }
            }
            div {
                label for="kind" { "Kind" }
                input id="kind" name="kind" value=(f.kind.as_deref().unwrap_or("")) placeholder="record_goodwill";
            }
            div {
                label for="user" { "User id" }
                input id="user" name="user" size="38" value=(f.user_id.map(|u| u.to_string()).unwrap_or_default());
            }
            div { button type="submit" { "Search" } }
        }
        form.filters method="get" action="/jobs" {
            div {
                label for="id" { "Job id" }
                input id="id" name="id" size="38" required;
            }
            div { button type="submit" { "Open" } }
        }
    }
}

/// `GET /jobs`.
pub async fn search(
    State(state): State<ConsoleState>,
    operator: Operator,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let Query(query) = query.map_err(|e| ConsoleError::BadInput(e.body_text()))?;
    if let Some(id) = given(&query.id) {
        let id = parse_id(id)?;
        return Ok(Redirect::to(&format!("/jobs/{id}")).into_response());
    }
    let f = filter(&query)?;
    let page = state.queue.search(&f, given(&query.cursor), PAGE).await?;
    let body = html! {
        h1 { "Jobs" }
        (search_form(&f))
        div id="results" {
            p.muted { (page.items.len()) " jobs shown, " (page.scanned) " looked at." }
            @if !page.items.is_empty() {
                table.jobs {
                    (layout::head(&["Job", "Queue", "Kind", "State", "#Attempts", "Last error", "Enqueued"]))
                    tbody { @for job in &page.items { tr {
                        td { a href={"/jobs/" (job.job_id)} { code { (job.job_id) } } }
                        td { (job.queue) }
                        td { (job.kind) }
                        td { (phase(job.state)) }
                        td.num { (job.attempts) }
                        td { (job.last_error.as_deref().unwrap_or("")) }
                        td { (layout::time(job.enqueued_at)) }
                    } } }
                }
            }
            @if let Some(next) = &page.next_cursor {
                p { a href=(next_link(&f, next)) { "More" } }
            }
        }
        (bulk_form(&operator, &f, None, "count"))
    };
    Ok(operator.page(&state, "Jobs", body).into_response())
}

/// The bulk actions the filter's state allows.
fn bulk_kinds(state: SearchState) -> Vec<BulkKind> {
    [BulkKind::Replay, BulkKind::Cancel, BulkKind::Delete]
        .into_iter()
        .filter(|k| k.check(state).is_ok())
        .collect()
}

fn bulk_name(kind: BulkKind) -> &'static str {
    match kind {
        BulkKind::Replay => "replay",
        BulkKind::Cancel => "cancel",
        BulkKind::Delete => "delete",
    }
}

/// The form acting on every job the filter matches: first `count` (a dry run), then, on the
/// page that shows the count, `confirm` with the action chosen.
fn bulk_form(operator: &Operator, f: &JobFilter, chosen: Option<BulkKind>, step: &str) -> Markup {
    let kinds = bulk_kinds(f.state);
    html! {
        @if !kinds.is_empty() {
            section aria-labelledby="bulk-title" {
                h2 id="bulk-title" { "Act on every match" }
                form.filters method="post" action="/jobs/bulk" {
                    (operator.csrf_field())
                    input type="hidden" name="state" value=(state_name(f.state));
                    input type="hidden" name="queue" value=(f.queue.as_deref().unwrap_or_default());
                    input type="hidden" name="kind" value=(f.kind.as_deref().unwrap_or_default());
                    input type="hidden" name="user" value=(f.user_id.map(|u| u.to_string()).unwrap_or_default());
                    input type="hidden" name="step" value=(step);
                    div {
                        label for="bulk-action" { "Action" }
                        select id="bulk-action" name="action" {
                            @for k in &kinds {
                                option value=(bulk_name(*k)) selected[chosen == Some(*k)] { (bulk_name(*k)) }
                            }
                        }
                    }
                    div { button type="submit" {
                        @if step == "confirm" { "Confirm" } @else { "Count matching jobs" }
                    } }
                }
            }
        }
    }
}

/// The bulk form's fields: the filter, the action and the step.
#[derive(Debug, Default, Deserialize)]
pub struct BulkForm {
    #[serde(flatten)]
    filter: SearchQuery,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    step: Option<String>,
}

/// `POST /jobs/bulk`: `step=count` answers a page with how many jobs match (nothing changes)
/// and a confirm button; `step=confirm` queues the bulk action as an `operations` job (audited
/// by the worker once it is done, with what it matched and changed), then shows its page.
pub async fn bulk(
    State(state): State<ConsoleState>,
    Confirmed(operator, form): Confirmed<BulkForm>,
) -> Result<Response, ConsoleError> {
    let f = filter(&form.filter)?;
    let action = match given(&form.action) {
        Some("replay") => BulkKind::Replay,
        Some("cancel") => BulkKind::Cancel,
        Some("delete") => BulkKind::Delete,
        other => {
            return Err(ConsoleError::BadInput(format!(
                "the action must be replay, cancel or delete, not {:?}",
                other.unwrap_or_default()
            )));
        }
    };
    action.check(f.state).map_err(ConsoleError::BadInput)?;
    if given(&form.step) == Some("confirm") {
        let job = Operation::Bulk(BulkAction {
            action,
            filter: f,
            actor_user_id: Some(operator.session.user_id),
            actor: operator.actor(),
        });
        let id = state.queue.enqueue(&job).await?;
        let message = format!(
            "The {} is queued; its progress is below.",
            bulk_name(action)
        );
        state.sessions.set_flash(&operator.session_id, message);
        return Ok(Redirect::to(&format!("/jobs/{id}")).into_response());
    }
    let matched = state.queue.count_matching(&f).await?;
    let body = html! {
        h1 { "Act on every match" }
        p id="bulk-count" role="status" {
            strong { (matched) } " " (state_name(f.state)) " jobs match"
            @if let Some(q) = &f.queue { " in " (q) }
            @if let Some(k) = &f.kind { ", of kind " (k) }
            @if let Some(u) = f.user_id { ", naming user " code { (u) } }
            ". Nothing has changed yet."
        }
        (bulk_form(&operator, &f, Some(action), "confirm"))
        p { a href=(next_link(&f, "")) { "Back to the list" } }
    };
    Ok(operator.page(&state, "Bulk action", body).into_response())
}

fn phase(p: JobPhase) -> &'static str {
    match p {
        JobPhase::Queued => "queued",
        JobPhase::Running => "running",
        JobPhase::Failed => "retrying",
        JobPhase::Done => "done",
        JobPhase::Dead => "dead",
        JobPhase::Cancelled => "cancelled",
    }
}

/// One failed delivery as a timeline line, at its start (or, not known, at its end): when it
/// failed, why, and what the queue did then.
fn failed_attempt(a: &FailedAttempt) -> Option<(DateTime<Utc>, String)> {
    let (ended, then) = match a.outcome {
        AttemptOutcome::Retried => ("failed", "retried"),
        AttemptOutcome::GaveUp => ("failed", "gave up"),
        AttemptOutcome::Lost => ("lost", "re-queued"),
    };
    let line = format!(
        "attempt {} started, {ended} at {}: {}; {then}",
        a.attempt,
        layout::time(a.failed_at),
        a.error
    );
    Some((a.started_at.or(a.failed_at)?, line))
}

/// What the queue remembers of a job's life, oldest first: its enqueue, each failed delivery,
/// its replay from the dead set, the start of its current delivery, its next retry, and how it
/// ended.
fn timeline(status: &JobStatus) -> Vec<(DateTime<Utc>, String)> {
    let mut events = Vec::new();
    if let Some(at) = status.enqueued_at {
        events.push((at, "enqueued".to_owned()));
    }
    events.extend(status.attempt_history.iter().filter_map(failed_attempt));
    if let Some(at) = status.replayed_at {
        events.push((at, "replayed from the dead set".to_owned()));
    }
    if let Some(at) = status.started_at {
        events.push((at, format!("delivery {} started", status.attempts)));
    }
    if let Some(at) = status.retry_at {
        events.push((at, format!("runs again after {} attempts", status.attempts)));
    }
    if let Some(at) = status.finished_at.filter(|_| status.state.is_final()) {
        events.push((at, phase(status.state).to_owned()));
    }
    events.sort_by_key(|(at, _)| *at);
    events
}

/// `GET /jobs/{id}`.
pub async fn job(
    State(state): State<ConsoleState>,
    operator: Operator,
    Path(raw): Path<String>,
) -> PageResult {
    let id = parse_id(&raw)?;
    let status = state
        .queue
        .status(ALL_QUEUES, JobId(id))
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no queue knows job {id}")))?;
    let payload = state.queue.payload(&status.queue, &id.to_string()).await?;
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    let events = timeline(&status);
    let undelivered =
        status.attempts == 0 && status.attempt_history.is_empty() && !status.state.is_final();
    let body = html! {
        h1 { "Job " code { (id) } }
        table.job { tbody {
            tr { th scope="row" { "Queue" } td { (status.queue) } }
            tr { th scope="row" { "State" } td id="job-state" { (phase(status.state)) @if status.cancel_requested { " (asked to stop)" } } }
            tr { th scope="row" { "Attempts" } td { (status.attempts) } }
            tr { th scope="row" { "Last error" } td { (status.last_error.as_deref().unwrap_or("–")) } }
            @if let Some(at) = status.retry_at { tr { th scope="row" { "Retries at" } td { (layout::time(Some(at))) } } }
            @if let Some(result) = &status.result { tr { th scope="row" { "Result" } td { (result) } } }
            @if let Some(progress) = &status.progress { tr { th scope="row" { "Progress" } td { pre { (pretty(progress)) } } } }
        } }
        h2 { "Timeline" }
        ol.timeline id="timeline" {
            @for (at, what) in &events { li { (layout::time(Some(*at))) ": " (what) } }
            @if undelivered { li.muted { "Waiting for its first delivery." } }
        }
        h2 { "Payload" }
        @match &payload {
            Some(p) => { p.hint { "Secrets and tokens are shown as \"[redacted]\"." } pre id="payload" { (pretty(p)) } }
            None => p.muted { "The queue no longer holds its payload (the job finished)." }
        }
        h2 { "Actions" }
        @if status.state == JobPhase::Dead {
            form.inline method="post" action={"/jobs/" (id) "/replay"} {
                (operator.csrf_field())
                button type="submit" { "Replay" }
            }
            " "
        }
        @if status.state.can_become(JobPhase::Cancelled) {
            form.inline method="post" action={"/jobs/" (id) "/cancel"} {
                (operator.csrf_field())
                button type="submit" { "Cancel" }
            }
        }
        @if matches!(status.state, JobPhase::Dead | JobPhase::Failed | JobPhase::Cancelled) {
            " "
            form.inline method="post" action={"/jobs/" (id) "/delete"} {
                (operator.csrf_field())
                button type="submit" { "Delete" }
            }
        }
        @if status.state.is_final() && status.state != JobPhase::Dead {
            p.muted { "Nothing to do: the job is " (phase(status.state)) "." }
        }
        p { a href={"/jobs?state=dead&queue=" (status.queue)} { "Dead jobs of " (status.queue) } }
    };
    Ok(operator.page(&state, "Job", body))
}

/// `POST /jobs/{id}/replay` (a dead job back to its queue, same id, attempts from zero),
/// `POST /jobs/{id}/cancel` and `POST /jobs/{id}/delete` (payload, place and record; not while
/// it runs): one handler, flashing what happened on the job's page; any other
/// verb is a page that does not exist.
pub async fn act(
    State(state): State<ConsoleState>,
    Path((raw, verb)): Path<(String, String)>,
    Confirmed(operator, _): Confirmed,
) -> Result<Redirect, ConsoleError> {
    let id = parse_id(&raw)?.to_string();
    let (message, audit) = match verb.as_str() {
        "replay" => match state.queue.replay_by_id(&id).await? {
            Some(queue) => (
                format!("Replayed: the job is back in {queue}."),
                Some(Audit::job(
                    audit_action::DEAD_JOB_REPLAYED,
                    &id,
                    json!({"queue": queue}),
                )),
            ),
            None => (
                "Not replayed: the job is not dead (any more).".to_owned(),
                None,
            ),
        },
        "cancel" => match state.queue.cancel(&id).await? {
            None => ("Not cancelled: no queue knows this job.".to_owned(), None),
            Some((queue, outcome)) => {
                let (ok, text) = describe_cancel(outcome);
                let details = json!({"queue": queue, "outcome": outcome});
                // A job cancelled before changes nothing: no audit row.
                let changed = ok && outcome != CancelOutcome::AlreadyCancelled;
                (
                    format!("{}: {text}.", if ok { "Cancel" } else { "Not cancelled" }),
                    changed.then(|| Audit::job(audit_action::JOB_CANCELLED, &id, details)),
                )
            }
        },
        "delete" => match state.queue.delete(&id).await? {
            None => ("Not deleted: no queue knows this job.".to_owned(), None),
            Some((_, DeleteOutcome::Running)) => (
                "Not deleted: the job is running; cancel it first.".to_owned(),
                None,
            ),
            Some((queue, _)) => {
                let audit = Audit::job(audit_action::JOB_DELETED, &id, json!({"queue": queue}));
                let message = format!("Deleted: job {id} is gone from {queue}.");
                audit::record(&state, &operator, audit).await?;
                state.sessions.set_flash(&operator.session_id, message);
                let back = format!("/jobs?state=dead&queue={queue}");
                return Ok(Redirect::to(&back));
            }
        },
        _ => return Err(ConsoleError::NotFound("there is no such page".into())),
    };
    if let Some(audit) = audit {
        audit::record(&state, &operator, audit).await?;
    }
    state.sessions.set_flash(&operator.session_id, message);
    Ok(Redirect::to(&format!("/jobs/{id}")))
}

#[cfg(test)]
mod tests {
    use crate::console::jobs::*;

    fn query(state: &str, queue: &str, user: &str) -> SearchQuery {
        SearchQuery {
            state: Some(state.into()),
            queue: Some(queue.into()),
            user: Some(user.into()),
            ..SearchQuery::default()
        }
    }

    #[test]
    fn the_form_becomes_a_filter_and_bad_fields_are_named() {
        let user = Uuid::now_v7();
        let f = filter(&query("retrying", "votes", &user.to_string())).expect("valid");
        assert_eq!(f.state, SearchState::Retrying);
        assert_eq!(f.queue.as_deref(), Some("votes"));
        assert_eq!(f.user_id, Some(user));
        let empty = filter(&SearchQuery::default()).expect("defaults");
        assert_eq!((empty.state, empty.queue), (SearchState::Dead, None));
        for (bad, says) in [
            (query("sleeping", "", ""), "unknown state"),
            (query("dead", "nope", ""), "unknown queue"),
            (query("dead", "", "bob"), "not a user id"),
        ] {
            let message = filter(&bad).expect_err("refused").to_string();
            assert!(message.contains(says), "{message}");
        }
    }

    #[test]
    fn the_timeline_reads_enqueue_each_failed_attempt_replay_and_end_oldest_first() {
        let at = |secs: i64| DateTime::from_timestamp(1_800_000_000 + secs, 0);
        let failed = |attempt, started: Option<i64>, ended, outcome, error: &str| FailedAttempt {
            attempt,
            started_at: started.and_then(at),
            failed_at: at(ended),
            outcome,
            error: error.into(),
        };
        let status = JobStatus {
            job_id: JobId::new(),
            queue: "votes".into(),
            state: JobPhase::Done,
            attempts: 1,
            last_error: Some("worker w lost".into()),
            result: Some("{}".into()),
            retry_at: None,
            started_at: None,
            replayed_at: at(30),
            finished_at: at(41),
            cancel_requested: false,
            progress: None,
            enqueued_at: at(0),
            attempt_history: vec![
                failed(1, Some(1), 2, AttemptOutcome::Retried, "flaky"),
                failed(2, Some(10), 11, AttemptOutcome::GaveUp, "still flaky"),
                failed(1, None, 35, AttemptOutcome::Lost, "worker w lost"),
            ],
        };
        let lines: Vec<String> = timeline(&status).into_iter().map(|(_, l)| l).collect();
        let time = |secs| layout::time(at(secs));
        assert_eq!(
            lines,
            vec![
                "enqueued".to_owned(),
                format!("attempt 1 started, failed at {}: flaky; retried", time(2)),
                format!(
                    "attempt 2 started, failed at {}: still flaky; gave up",
                    time(11)
                ),
                "replayed from the dead set".to_owned(),
                format!(
                    "attempt 1 started, lost at {}: worker w lost; re-queued",
                    time(35)
                ),
                "done".to_owned(),
            ]
        );
    }

    #[test]
    fn the_next_page_link_keeps_the_filter() {
        let f = filter(&query("dead", "goodwill", "")).expect("valid");
        assert_eq!(
            next_link(&f, "goodwill|17:ab"),
            "/jobs?state=dead&queue=goodwill&cursor=goodwill%7C17%3Aab"
        );
    }
}
