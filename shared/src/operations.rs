//! What operators do to the job queues, on top of [`JobQueue`]: the per-queue overview, pause
//! and resume, cancel, the job search with filters and redacted payloads, and the bulk actions
//! by filter (counted first, then run as an `operations` job by a worker). Every action is
//! audited through the same job queue: [`Operation::Audit`] jobs, written to `audit_log` by a
//! worker exactly once, so the API keeps writing nothing to Postgres but its migrations.
//!
//! The HTTP routes (`api/src/routes/queues.rs`, `jobs.rs`) and the CLI (`coin-worker queues`,
//! `pause`, `resume`, `jobs`) both call these, so they cannot disagree.

use chrono::{DateTime, Utc};
use coin_queue::JobRecord;
pub use coin_queue::{CancelOutcome, DeleteOutcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    jobs::{ALL_QUEUES, DistributionChunk, Job, OPERATIONS_QUEUE, selected_queues},
    queue::{JobId, JobPhase, JobQueue, QueueDepth, QueueError},
};

/// Ids read from Redis per search window.
const SEARCH_WINDOW: usize = 500;
/// Ids one search page may look at before it answers (with a cursor to go on).
const SEARCH_BUDGET: usize = 5_000;
/// Largest page of a search.
pub const MAX_SEARCH_LIMIT: usize = 200;

/// Job kinds whose handler checks for cancellation at safe points.
const COOPERATIVE_QUEUES: &[&str] = &[DistributionChunk::QUEUE];

/// Payload fields that name the person a job is about or was asked by.
const USER_FIELDS: &[&str] = &[
    "user_id",
    "requested_by",
    "voter_id",
    "proposer_id",
    "delegator_id",
    "delegate_id",
];

/// Payload keys whose values never leave Redis through a search.
const SECRET_MARKERS: &[&str] = &["secret", "token", "password", "authorization", "api_key"];

/// A job's state as a search names it: the queue's own [`ScanState`], one type end to end.
pub use coin_queue::ScanState as SearchState;

/// Which jobs a search or a bulk action is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobFilter {
    /// One queue, or every queue.
    pub queue: Option<String>,
    /// The state to look through.
    pub state: SearchState,
    /// The job's kind (see [`job_kind`]), e.g. `record_goodwill` or `create_proposal`.
    pub kind: Option<String>,
    /// A user the payload names (`user_id`, `requested_by`, `voter_id`, ...).
    pub user_id: Option<Uuid>,
}

impl JobFilter {
    /// The queues it covers; an unknown queue is an error.
    pub fn queues(&self) -> Result<Vec<&'static str>, QueueError> {
        selected_queues(self.queue.as_deref())
            .ok_or_else(|| QueueError::UnknownQueue(self.queue.clone().unwrap_or_default()))
    }

    fn matches(&self, queue: &str, payload: &Value) -> bool {
        self.kind
            .as_deref()
            .is_none_or(|k| job_kind(queue, payload) == k)
            && self.user_id.is_none_or(|u| names_user(payload, u))
    }
}

/// A job as a search lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobSummary {
    /// The job's id.
    pub job_id: String,
    /// Its queue.
    pub queue: String,
    /// Its kind.
    pub kind: String,
    /// Where it stands.
    pub state: JobPhase,
    /// Deliveries so far.
    pub attempts: u32,
    /// Why its last delivery failed.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub enqueued_at: Option<DateTime<Utc>>,
    /// When it runs next (scheduled and retrying jobs).
    pub next_run_at: Option<DateTime<Utc>>,
    /// When it died or was cancelled.
    pub finished_at: Option<DateTime<Utc>>,
    /// Its payload, with secrets and tokens replaced by `"[redacted]"`.
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    /// Matching jobs, in the state's order (queued and scheduled oldest first, dead and
    /// cancelled newest first).
    pub items: Vec<JobSummary>,
    /// Ids looked at for this page.
    pub scanned: usize,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

/// What a bulk action does to each matching job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkKind {
    /// Dead jobs back to their queue (same ids, attempts from zero).
    Replay,
    /// Never run them; their records stay, `cancelled`.
    Cancel,
    /// Forget them: payload and record.
    Delete,
}

impl BulkKind {
    /// The states it applies to; a filter for another state is refused with this text.
    pub fn check(self, state: SearchState) -> Result<(), String> {
        let ok = match self {
            BulkKind::Replay => matches!(state, SearchState::Dead),
            BulkKind::Cancel => matches!(state, SearchState::Dead | SearchState::Retrying),
            BulkKind::Delete => matches!(
                state,
                SearchState::Dead | SearchState::Retrying | SearchState::Cancelled
            ),
        };
        ok.then_some(()).ok_or_else(|| {
            format!(
                "{self:?} applies to {} jobs, not {state:?} ones",
                match self {
                    BulkKind::Replay => "dead",
                    BulkKind::Cancel => "dead or retrying",
                    BulkKind::Delete => "dead, retrying or cancelled",
                }
            )
            .to_lowercase()
        })
    }
}

/// How far a bulk action got; its job's `progress`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulkProgress {
    /// Ids looked at.
    pub scanned: u64,
    /// Jobs that matched the filter.
    pub matched: u64,
    /// Jobs the action changed.
    pub applied: u64,
    /// Whether it finished.
    pub finished: bool,
}

/// The operator job queue's payload: audit rows and bulk actions, run by workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum Operation {
    /// Writes one `audit_log` row for an action already done (pause, resume, cancel, replay,
    /// delete); idempotent on the job id.
    Audit(AuditEntry),
    /// Applies `action` to every job matching `filter`, reporting progress, then audits it.
    Bulk(BulkAction),
}

impl Job for Operation {
    const QUEUE: &'static str = OPERATIONS_QUEUE;

    fn kind(&self) -> &'static str {
        self.name()
    }
}

/// The `audit_log.action_type` of every operator action, and nothing else: a worker refuses
/// an audit entry naming another.
pub mod audit_action {
    catalogue! {
        /// A queue was paused.
        QUEUE_PAUSED = "QUEUE_PAUSED",
        /// A queue was resumed.
        QUEUE_RESUMED = "QUEUE_RESUMED",
        /// One job was cancelled (or asked to stop).
        JOB_CANCELLED = "JOB_CANCELLED",
        /// One job was deleted.
        JOB_DELETED = "JOB_DELETED",
        /// One dead job was replayed.
        DEAD_JOB_REPLAYED = "DEAD_JOB_REPLAYED",
        /// A queue's whole dead set was replayed.
        DEAD_JOBS_REPLAYED = "DEAD_JOBS_REPLAYED",
        /// A bulk replay by filter finished.
        JOBS_BULK_REPLAY = "JOBS_BULK_REPLAY",
        /// A bulk cancel by filter finished.
        JOBS_BULK_CANCEL = "JOBS_BULK_CANCEL",
        /// A bulk delete by filter finished.
        JOBS_BULK_DELETE = "JOBS_BULK_DELETE",
    }
}

impl BulkKind {
    /// The audit action of a finished bulk action of this kind.
    pub fn audit_action(self) -> &'static str {
        match self {
            BulkKind::Replay => audit_action::JOBS_BULK_REPLAY,
            BulkKind::Cancel => audit_action::JOBS_BULK_CANCEL,
            BulkKind::Delete => audit_action::JOBS_BULK_DELETE,
        }
    }
}

impl Operation {
    /// The operation's wire name (its `operation` tag): its kind in logs, spans and searches.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Audit(_) => "audit",
            Operation::Bulk(_) => "bulk",
        }
    }
}

impl JobQueue {
    /// Records an operator action that was just done: one [`Operation::Audit`] job, which a
    /// worker writes to `audit_log` exactly once.
    pub async fn audit(&self, entry: AuditEntry) -> Result<JobId, QueueError> {
        self.enqueue(&Operation::Audit(entry)).await
    }
}

/// Who did what to which queue or job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// `audit_log.action_type`, e.g. `QUEUE_PAUSED`.
    pub action: String,
    /// The operator's user id (a token's subject), `None` from the CLI.
    pub actor_user_id: Option<Uuid>,
    /// The operator as text: `user:<id>` or `cli:<unix user>`.
    pub actor: String,
    /// `queue` or `job`.
    pub subject_type: String,
    /// The queue's name or the job's id.
    pub subject: String,
    /// Filter, outcome, counts.
    pub details: Value,
    /// When it was done.
    pub at: DateTime<Utc>,
}

/// What an operator action changed, as its audit row says it: the action, the queue or job it
/// was done to, and its details (filter, outcome, counts). [`Audit::by`] adds who did it, now.
/// The API, the console and the CLI all build their rows this way.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    /// One of [`audit_action`].
    pub action: &'static str,
    /// `queue` or `job`.
    pub subject_type: &'static str,
    /// The queue's name or the job's id.
    pub subject: String,
    /// Filter, outcome, counts.
    pub details: Value,
}

impl Audit {
    /// An action on a whole queue.
    pub fn queue(action: &'static str, queue: &str, details: Value) -> Self {
        Self {
            action,
            subject_type: "queue",
            subject: queue.to_owned(),
            details,
        }
    }

    /// An action on one job.
    pub fn job(action: &'static str, job_id: impl ToString, details: Value) -> Self {
        Self {
            action,
            subject_type: "job",
            subject: job_id.to_string(),
            details,
        }
    }

    /// The row of this action done now by `actor` (the operator's user id, when a token or
    /// a session names one).
    pub fn by(self, actor_user_id: Option<Uuid>, actor: String) -> AuditEntry {
        AuditEntry {
            action: self.action.to_owned(),
            actor_user_id,
            actor,
            subject_type: self.subject_type.to_owned(),
            subject: self.subject,
            details: self.details,
            at: Utc::now(),
        }
    }

    /// The row of this action done now by the operator whose user id is `user_id`.
    pub fn by_user(self, user_id: Uuid) -> AuditEntry {
        self.by(Some(user_id), user_actor(user_id))
    }
}

/// An operator as audit rows and pause records name it: `user:<id>`.
pub fn user_actor(user_id: Uuid) -> String {
    format!("user:{user_id}")
}

/// A bulk action as queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkAction {
    /// What to do.
    pub action: BulkKind,
    /// To which jobs.
    pub filter: JobFilter,
    /// Who asked (user id, when a token's subject).
    pub actor_user_id: Option<Uuid>,
    /// Who asked, as text.
    pub actor: String,
}

/// Whether a cancel took effect (now, or at the job's next safe point), and what it did, in
/// words for people.
pub fn describe_cancel(outcome: CancelOutcome) -> (bool, String) {
    let at = |ms: i64| {
        DateTime::from_timestamp_millis(ms).map_or_else(|| "-".to_owned(), |t| t.to_rfc3339())
    };
    match outcome {
        CancelOutcome::Cancelled => (true, "cancelled: it will not run".into()),
        CancelOutcome::Requested {
            attempts,
            started_at_ms,
        } => (
            true,
            format!(
                "running (attempt {attempts}, since {}): it stops at its next safe point",
                at(started_at_ms)
            ),
        ),
        CancelOutcome::Running {
            attempts,
            started_at_ms,
        } => (
            false,
            format!(
                "running (attempt {attempts}, since {}) and cannot be stopped; it finishes normally",
                at(started_at_ms)
            ),
        ),
        CancelOutcome::Done => (false, "already finished".into()),
        CancelOutcome::AlreadyCancelled => (true, "already cancelled".into()),
        CancelOutcome::Unknown => (false, "unknown job".into()),
    }
}

/// The kind of a job: its governance command, else the job type of its queue.
pub fn job_kind(queue: &str, payload: &Value) -> String {
    let tag = |field: &str| {
        payload
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match queue {
        "goodwill" => "record_goodwill".into(),
        "votes" => "cast_vote".into(),
        "governance" => tag("command").unwrap_or_else(|| "governance".into()),
        "webhooks" => "deliver_webhook".into(),
        "distribution" => "distribution_chunk".into(),
        "operations" => tag("operation").unwrap_or_else(|| "operation".into()),
        other => other.into(),
    }
}

fn names_user(payload: &Value, user: Uuid) -> bool {
    let user = user.to_string();
    USER_FIELDS
        .iter()
        .any(|f| payload.get(*f).and_then(Value::as_str) == Some(user.as_str()))
}

/// The payload with every value under a secret-looking key replaced, at any depth.
pub fn redact(mut payload: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    let key = k.to_ascii_lowercase();
                    if SECRET_MARKERS.iter().any(|m| key.contains(m)) {
                        *child = Value::String("[redacted]".into());
                    } else {
                        walk(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut payload);
    payload
}

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

fn summary(queue: &str, record: &JobRecord, payload: &Value) -> JobSummary {
    JobSummary {
        job_id: record.id.clone(),
        queue: queue.to_owned(),
        kind: job_kind(queue, payload),
        state: record.state.into(),
        attempts: record.attempts,
        last_error: record.last_error.clone(),
        enqueued_at: time(record.enqueued_at_ms),
        next_run_at: time(record.run_at_ms),
        finished_at: time(record.finished_at_ms),
        payload: redact(payload.clone()),
    }
}

/// Cursor across queues: `<queue>|<queue's cursor>`.
fn split_cursor(cursor: Option<&str>) -> Result<Option<(&str, &str)>, QueueError> {
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => c
            .split_once('|')
            .map(Some)
            .ok_or_else(|| QueueError::Backend(coin_queue::QueueError::InvalidCursor(c.into()))),
    }
}

/// A job matching a filter, as bulk actions see it.
struct Match {
    queue: &'static str,
    id: String,
}

impl JobQueue {
    /// Depth, latency, rates and pause state of every queue, in [`ALL_QUEUES`] order.
    pub async fn overview(&self) -> Result<Vec<(&'static str, QueueDepth)>, QueueError> {
        let mut out = Vec::with_capacity(ALL_QUEUES.len());
        for queue in ALL_QUEUES {
            out.push((*queue, self.depth(queue).await?));
        }
        Ok(out)
    }

    /// Pauses `queue`; false if it was paused already.
    pub async fn pause(&self, queue: &str, by: &str) -> Result<bool, QueueError> {
        Ok(self.handle(queue)?.pause(by).await?)
    }

    /// Resumes `queue`; false if it was not paused.
    pub async fn resume(&self, queue: &str) -> Result<bool, QueueError> {
        Ok(self.handle(queue)?.resume().await?)
    }

    /// Cancels one job, whichever queue holds it (see [`CancelOutcome`]); a running job of a
    /// cooperating kind (distribution chunks) is asked to stop at its next safe point.
    pub async fn cancel(
        &self,
        job_id: &str,
    ) -> Result<Option<(&'static str, CancelOutcome)>, QueueError> {
        for queue in ALL_QUEUES {
            let cooperative = COOPERATIVE_QUEUES.contains(queue);
            let outcome = self
                .handle(queue)?
                .cancel(&[job_id.to_owned()], cooperative)
                .await?;
            match outcome.first() {
                Some(CancelOutcome::Unknown) | None => continue,
                Some(o) => return Ok(Some((*queue, *o))),
            }
        }
        Ok(None)
    }

    /// Deletes one job (payload, place and record) from whichever queue holds it; a job in
    /// flight is left alone (`DeleteOutcome::Running`). `None` when no queue knows it.
    pub async fn delete(
        &self,
        job_id: &str,
    ) -> Result<Option<(&'static str, DeleteOutcome)>, QueueError> {
        for queue in ALL_QUEUES {
            let outcome = self.handle(queue)?.delete(&[job_id.to_owned()]).await?;
            match outcome.first() {
                Some(DeleteOutcome::Unknown) | None => continue,
                Some(o) => return Ok(Some((*queue, *o))),
            }
        }
        Ok(None)
    }

    /// The payload of job `id` while `queue` still holds it, with secrets redacted (see
    /// [`redact`]); `None` once it finished and its payload is gone.
    pub async fn payload(&self, queue: &str, id: &str) -> Result<Option<Value>, QueueError> {
        let raw = self.handle(queue)?.payload(id).await?;
        Ok(raw.map(|bytes| redact(serde_json::from_slice(&bytes).unwrap_or(Value::Null))))
    }

    /// Whether an operator asked the running job `id` of type `J` to stop.
    pub async fn cancel_requested<J: Job>(&self, id: &str) -> Result<bool, QueueError> {
        Ok(self.handle(J::QUEUE)?.cancel_requested(id).await?)
    }

    /// Records a running job's progress, shown by `GET /v1/jobs/{id}`.
    pub async fn set_progress<J: Job>(
        &self,
        id: JobId,
        progress: &impl Serialize,
    ) -> Result<(), QueueError> {
        let value = serde_json::to_value(progress)?;
        Ok(self
            .handle(J::QUEUE)?
            .set_progress(&id.to_string(), &value)
            .await?)
    }

    /// One page of jobs matching `filter`, at most `limit` (≤ [`MAX_SEARCH_LIMIT`]), looking
    /// at no more than 5,000 ids in windows of 500; `cursor` is a page's `next_cursor`.
    pub async fn search(
        &self,
        filter: &JobFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<SearchPage, QueueError> {
        let limit = limit.clamp(1, MAX_SEARCH_LIMIT);
        let queues = filter.queues()?;
        let mut start = split_cursor(cursor)?;
        let mut items = Vec::new();
        let mut scanned = 0;
        let first = match start {
            None => 0,
            Some((q, _)) => queues
                .iter()
                .position(|known| *known == q)
                .ok_or_else(|| QueueError::UnknownQueue(q.to_owned()))?,
        };
        for queue in &queues[first..] {
            let mut inner: Option<String> = start.take().map(|(_, c)| c.to_owned());
            loop {
                if scanned >= SEARCH_BUDGET {
                    let next = inner.map(|c| format!("{queue}|{c}"));
                    return Ok(SearchPage {
                        items,
                        scanned,
                        next_cursor: next.or_else(|| format!("{queue}|").into()),
                    });
                }
                let page = self
                    .handle(queue)?
                    .scan(filter.state, inner.as_deref(), SEARCH_WINDOW)
                    .await?;
                scanned += page.scanned;
                for record in &page.jobs {
                    let payload: Value =
                        serde_json::from_slice(&record.payload).unwrap_or(Value::Null);
                    if filter.matches(queue, &payload) {
                        items.push(summary(queue, record, &payload));
                        if items.len() == limit {
                            return Ok(SearchPage {
                                items,
                                scanned,
                                next_cursor: Some(format!("{queue}|{}", record.after)),
                            });
                        }
                    }
                }
                match page.next {
                    Some(next) => inner = Some(next),
                    None => break,
                }
            }
        }
        Ok(SearchPage {
            items,
            scanned,
            next_cursor: None,
        })
    }

    /// How many jobs a bulk action with `filter` would touch now (its dry run).
    pub async fn count_matching(&self, filter: &JobFilter) -> Result<u64, QueueError> {
        let mut walk = MatchWalk::new(self, filter)?;
        let mut matched = 0;
        while let Some(batch) = walk.next().await? {
            matched += batch.len() as u64;
        }
        Ok(matched)
    }

    /// Applies `action` to every job matching `filter`, one window at a time, recording the
    /// progress on the job `progress_of` (of the operations queue) after each window and when
    /// finished; returns the final counts.
    pub async fn bulk(
        &self,
        action: BulkKind,
        filter: &JobFilter,
        progress_of: Option<JobId>,
    ) -> Result<BulkProgress, QueueError> {
        let mut walk = MatchWalk::new(self, filter)?;
        let mut done = BulkProgress::default();
        loop {
            let batch = walk.next().await?;
            done.scanned = walk.scanned;
            let Some(batch) = batch else { break };
            done.matched += batch.len() as u64;
            done.applied += self.apply(action, batch).await?;
            if let Some(id) = progress_of {
                self.set_progress::<Operation>(id, &done).await?;
            }
        }
        done.finished = true;
        if let Some(id) = progress_of {
            self.set_progress::<Operation>(id, &done).await?;
        }
        Ok(done)
    }

    async fn apply(&self, action: BulkKind, batch: Vec<Match>) -> Result<u64, QueueError> {
        let mut applied = 0u64;
        for queue in ALL_QUEUES {
            let ids: Vec<String> = batch
                .iter()
                .filter(|m| m.queue == *queue)
                .map(|m| m.id.clone())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let handle = self.handle(queue)?;
            applied += match action {
                BulkKind::Replay => handle.replay(&ids).await?,
                BulkKind::Cancel => handle
                    .cancel(&ids, false)
                    .await?
                    .iter()
                    .filter(|o| **o == CancelOutcome::Cancelled)
                    .count() as u64,
                BulkKind::Delete => handle
                    .delete(&ids)
                    .await?
                    .iter()
                    .filter(|o| **o == DeleteOutcome::Deleted)
                    .count() as u64,
            };
        }
        Ok(applied)
    }
}

/// A walk over every window of a filter's state in its queues, yielding each window's matches.
/// Whoever walks may change the jobs it got (replay, cancel, delete): the keyset cursors of the
/// sorted sets survive removals.
struct MatchWalk<'a> {
    jobs: &'a JobQueue,
    filter: &'a JobFilter,
    queues: Vec<&'static str>,
    /// Index into `queues` of the queue being walked.
    at: usize,
    cursor: Option<String>,
    /// Ids looked at so far.
    scanned: u64,
}

impl<'a> MatchWalk<'a> {
    fn new(jobs: &'a JobQueue, filter: &'a JobFilter) -> Result<Self, QueueError> {
        Ok(Self {
            jobs,
            filter,
            queues: filter.queues()?,
            at: 0,
            cursor: None,
            scanned: 0,
        })
    }

    /// The matches of the next window (possibly none), or `None` when every queue is done.
    async fn next(&mut self) -> Result<Option<Vec<Match>>, QueueError> {
        let Some(queue) = self.queues.get(self.at).copied() else {
            return Ok(None);
        };
        let page = self
            .jobs
            .handle(queue)?
            .scan(self.filter.state, self.cursor.as_deref(), SEARCH_WINDOW)
            .await?;
        self.scanned += page.scanned as u64;
        self.cursor = page.next;
        if self.cursor.is_none() {
            self.at += 1;
        }
        Ok(Some(
            page.jobs
                .iter()
                .filter(|r| {
                    let payload: Value = serde_json::from_slice(&r.payload).unwrap_or(Value::Null);
                    self.filter.matches(queue, &payload)
                })
                .map(|r| Match {
                    queue,
                    id: r.id.clone(),
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_nothing_else_is() {
        let payload = json!({
            "command": "register_webhook_endpoint",
            "secret": "whsec_abc",
            "url": "https://example.org",
            "nested": {"api_key": "k", "Authorization": "Bearer x", "keep": 1},
            "list": [{"refresh_token": "t"}],
        });
        assert_eq!(
            redact(payload),
            json!({
                "command": "register_webhook_endpoint",
                "secret": "[redacted]",
                "url": "https://example.org",
                "nested": {"api_key": "[redacted]", "Authorization": "[redacted]", "keep": 1},
                "list": [{"refresh_token": "[redacted]"}],
            })
        );
    }

    #[test]
    fn kinds_and_users_come_from_the_payload() {
        let user = Uuid::now_v7();
        let vote = json!({"vote_id": Uuid::now_v7(), "voter_id": user});
        assert_eq!(job_kind("votes", &vote), "cast_vote");
        assert_eq!(
            job_kind("governance", &json!({"command": "create_proposal"})),
            "create_proposal"
        );
        let filter = JobFilter {
            queue: None,
            state: SearchState::Queued,
            kind: Some("cast_vote".into()),
            user_id: Some(user),
        };
        assert!(filter.matches("votes", &vote));
        assert!(!filter.matches("goodwill", &vote), "another kind");
        let other = JobFilter {
            user_id: Some(Uuid::now_v7()),
            ..filter
        };
        assert!(!other.matches("votes", &vote), "another user");
    }

    #[test]
    fn bulk_actions_apply_only_to_the_states_they_make_sense_for() {
        use BulkKind::*;
        use SearchState::*;
        let allowed = [
            (Replay, Dead, true),
            (Replay, Retrying, false),
            (Replay, Queued, false),
            (Cancel, Dead, true),
            (Cancel, Retrying, true),
            (Cancel, Running, false),
            (Delete, Cancelled, true),
            (Delete, Queued, false),
        ];
        for (kind, state, ok) in allowed {
            assert_eq!(kind.check(state).is_ok(), ok, "{kind:?} on {state:?}");
        }
        assert_eq!(
            Replay.check(Retrying).expect_err("refused"),
            "replay applies to dead jobs, not retrying ones"
        );
    }
}
