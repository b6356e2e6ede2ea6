//! Finding jobs: one bounded window of one state at a time, with a cursor for the next.
//!
//! Each call reads at most `window` ids from one structure — the ready list (by offset), the
//! scheduled, dead or cancelled sorted set (keyset: the last entry's score and id, see
//! `window.lua`), or the workers' in-flight lists (by worker) — then their payloads, states and
//! records in one pipeline. Never `KEYS` or `SCAN`. Filtering by what a payload says is the
//! caller's (it knows the payload types); a page may so hold fewer matches than its window.

use crate::{
    admin::JobState,
    encoded_job::split_stamp,
    error::{QueueError, Result},
    handle::RedisQueue,
};

/// Which jobs to look through (the API and the CLI name it `SearchState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum ScanState {
    /// In the ready list, oldest first.
    Queued,
    /// Delayed, never delivered yet, earliest due first.
    Scheduled,
    /// Waiting for another attempt, earliest due first.
    Retrying,
    /// Held by a worker (running or prefetched).
    Running,
    /// Failed for good, newest first.
    Dead,
    /// Cancelled by an operator, newest first.
    Cancelled,
}

/// One job as a search lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Its id.
    pub id: String,
    /// Its state.
    pub state: JobState,
    /// Deliveries so far.
    pub attempts: u32,
    /// Why the last delivery failed.
    pub last_error: Option<String>,
    /// When it was pushed (ms): its payload's stamp, or the copy its meta keeps once the
    /// payload is gone (cancelled).
    pub enqueued_at_ms: Option<i64>,
    /// When it is due (scheduled and retrying jobs).
    pub run_at_ms: Option<i64>,
    /// When it died or was cancelled.
    pub finished_at_ms: Option<i64>,
    /// The payload as the producer gave it (empty once the job lost it, e.g. cancelled).
    pub payload: Vec<u8>,
    /// The cursor of the window that starts right after this job, so a caller that keeps
    /// only some of a window's jobs can continue exactly where it stopped.
    pub after: String,
}

/// One window of a search.
#[derive(Debug, Clone, Default)]
pub struct ScanPage {
    /// The jobs of this window that are in the state asked for.
    pub jobs: Vec<JobRecord>,
    /// Ids looked at.
    pub scanned: usize,
    /// Where the next window starts; `None` at the end.
    pub next: Option<String>,
}

/// A listed id: its score (sorted sets) and the cursor right after it.
type Listed = (String, Option<f64>, String);

/// Where a window starts.
enum Cursor {
    Offset(usize),
    After(f64, String),
    /// Worker index (in the workers set's order), position in its in-flight list.
    Worker(usize, usize),
}

impl Cursor {
    fn parse(raw: Option<&str>) -> Result<Option<Self>> {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        let bad = || QueueError::InvalidCursor(raw.to_owned());
        let (kind, rest) = raw.split_once(':').ok_or_else(bad)?;
        Ok(Some(match kind {
            "o" => Self::Offset(rest.parse().map_err(|_| bad())?),
            "w" => {
                let (w, pos) = rest.split_once(':').ok_or_else(bad)?;
                Self::Worker(
                    w.parse().map_err(|_| bad())?,
                    pos.parse().map_err(|_| bad())?,
                )
            }
            "z" => {
                let (score, id) = rest.split_once(':').ok_or_else(bad)?;
                let score: f64 = score.parse().map_err(|_| bad())?;
                if !score.is_finite() || id.is_empty() {
                    return Err(bad());
                }
                Self::After(score, id.to_owned())
            }
            _ => return Err(bad()),
        }))
    }
}

fn parse<T: redis::FromRedisValue>(v: redis::Value) -> Result<T> {
    redis::from_redis_value(v).map_err(|e| QueueError::Protocol {
        script: "search",
        detail: e.to_string(),
    })
}

/// The largest window one call reads.
pub const MAX_WINDOW: usize = 1_000;

impl<Args> RedisQueue<Args> {
    /// Reads one window (at most `window` ids, ≤ [`MAX_WINDOW`]) of jobs in `state`, starting
    /// at `cursor` (a `next` from an earlier page, or `None` for the start).
    pub async fn scan(
        &self,
        state: ScanState,
        cursor: Option<&str>,
        window: usize,
    ) -> Result<ScanPage> {
        let window = window.clamp(1, MAX_WINDOW);
        let cursor = Cursor::parse(cursor)?;
        let k = &self.inner.keys;
        let mut conn = self.conn.clone();
        // (id, score, cursor after it) of the window, and the cursor after the window.
        let (entries, next): (Vec<Listed>, Option<String>) = match state {
            ScanState::Queued => {
                let start = match cursor {
                    None => 0,
                    Some(Cursor::Offset(o)) => o,
                    Some(_) => return Err(QueueError::InvalidCursor("not a list cursor".into())),
                };
                let ids: Vec<String> = redis::cmd("LRANGE")
                    .arg(&k.ready)
                    .arg(start)
                    .arg(start + window - 1)
                    .query_async(&mut conn)
                    .await?;
                let next = (ids.len() == window).then(|| format!("o:{}", start + window));
                let entries = ids
                    .into_iter()
                    .enumerate()
                    .map(|(i, id)| (id, None, format!("o:{}", start + i + 1)))
                    .collect();
                (entries, next)
            }
            ScanState::Running => {
                let (from, skip) = match cursor {
                    None => (0, 0),
                    Some(Cursor::Worker(w, pos)) => (w, pos),
                    Some(_) => {
                        return Err(QueueError::InvalidCursor("not a worker cursor".into()));
                    }
                };
                let workers: Vec<String> = redis::cmd("ZRANGE")
                    .arg(&k.workers)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut conn)
                    .await?;
                let mut entries = Vec::new();
                let mut next = None;
                for (i, w) in workers.iter().enumerate().skip(from) {
                    if entries.len() >= window {
                        next = Some(format!("w:{i}:0"));
                        break;
                    }
                    let first = if i == from { skip } else { 0 };
                    let held: Vec<String> = redis::cmd("LRANGE")
                        .arg(k.inflight(w))
                        .arg(first)
                        .arg(-1)
                        .query_async(&mut conn)
                        .await?;
                    entries.extend(
                        held.into_iter()
                            .enumerate()
                            .map(|(p, id)| (id, None, format!("w:{i}:{}", first + p + 1))),
                    );
                }
                (entries, next)
            }
            ScanState::Scheduled | ScanState::Retrying | ScanState::Dead | ScanState::Cancelled => {
                let (key, rev) = match state {
                    ScanState::Dead => (&k.dead, true),
                    ScanState::Cancelled => (&k.cancelled, true),
                    _ => (&k.scheduled, false),
                };
                let after = match &cursor {
                    None => None,
                    Some(Cursor::After(score, id)) => Some((*score, id.as_str())),
                    Some(_) => return Err(QueueError::InvalidCursor("not a set cursor".into())),
                };
                let got = self
                    .inner
                    .scripts
                    .window(&mut conn, key, after, window, rev)
                    .await?;
                let next = (got.len() == window)
                    .then(|| got.last().map(|(id, s)| format!("z:{s}:{id}")))
                    .flatten();
                let entries = got
                    .into_iter()
                    .map(|(id, s)| {
                        let after = format!("z:{s}:{id}");
                        (id, Some(s), after)
                    })
                    .collect();
                (entries, next)
            }
        };
        let scanned = entries.len();
        let jobs = self.records(state, entries).await?;
        Ok(ScanPage {
            jobs,
            scanned,
            next,
        })
    }

    /// Payload, state and record of each listed id in one pipeline; keeps those in `state`.
    /// Of the record only the fields a listing shows are read (not the failed attempts).
    async fn records(&self, state: ScanState, entries: Vec<Listed>) -> Result<Vec<JobRecord>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let k = &self.inner.keys;
        let ids: Vec<&str> = entries.iter().map(|(id, _, _)| id.as_str()).collect();
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET").arg(&k.data).arg(&ids);
        pipe.cmd("HMGET").arg(&k.state).arg(&ids);
        for id in &ids {
            pipe.cmd("HMGET").arg(k.job(id)).arg(&[
                "last_error",
                "attempts",
                "finished_at",
                "enqueued_at",
            ]);
        }
        let mut conn = self.conn.clone();
        let reply: Vec<redis::Value> = pipe.query_async(&mut conn).await?;
        let mut it = reply.into_iter();
        let payloads: Vec<Option<Vec<u8>>> = parse(it.next().unwrap_or(redis::Value::Nil))?;
        let states: Vec<Option<String>> = parse(it.next().unwrap_or(redis::Value::Nil))?;
        let mut out = Vec::new();
        for (((id, score, after), (payload, st)), meta) in entries
            .into_iter()
            .zip(payloads.into_iter().zip(states))
            .zip(it)
        {
            let [last_error, meta_attempts, finished_at, meta_enqueued_at]: [Option<String>; 4] =
                parse(meta)?;
            let num = |v: Option<String>| v.and_then(|v| v.parse::<i64>().ok());
            let mut parts = st
                .as_deref()
                .unwrap_or("0,0,0")
                .split(',')
                .map(|p| p.parse::<i64>().unwrap_or(0));
            let attempts = parts.next().unwrap_or(0);
            let started = parts.nth(1).unwrap_or(0);
            // Kept only if it is still in the state the window was read for (it may have
            // moved since; a ready entry without a payload was cancelled).
            let job_state = match state {
                ScanState::Dead => JobState::Dead,
                ScanState::Cancelled => JobState::Cancelled,
                _ if payload.is_none() => continue,
                ScanState::Running if started > 0 => JobState::Running,
                ScanState::Queued if started == 0 => JobState::Queued,
                ScanState::Scheduled if attempts == 0 => JobState::Queued,
                ScanState::Retrying if attempts > 0 => JobState::Retrying,
                _ => continue,
            };
            let (enqueued_at_ms, body) = payload
                .as_deref()
                .map(split_stamp)
                .unwrap_or((None, &[][..]));
            let scheduled = matches!(state, ScanState::Scheduled | ScanState::Retrying);
            out.push(JobRecord {
                state: job_state,
                attempts: u32::try_from(attempts.max(num(meta_attempts).unwrap_or(0))).unwrap_or(0),
                last_error,
                enqueued_at_ms: enqueued_at_ms.or_else(|| num(meta_enqueued_at)),
                run_at_ms: scheduled.then_some(score).flatten().map(|s| s as i64),
                finished_at_ms: (!scheduled)
                    .then_some(score)
                    .flatten()
                    .map(|s| s as i64)
                    .or_else(|| num(finished_at)),
                payload: body.to_vec(),
                id,
                after,
            });
        }
        Ok(out)
    }
}
