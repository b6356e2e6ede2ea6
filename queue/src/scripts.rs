//! Lua scripts (in `src/lua/`) and their typed wrappers. Every script does bounded work
//! per call: at most `n`/`promote_chunk`/`recover_chunk`/`ack_chunk` jobs, and never
//! `unpack`s more than 1,000 values.
//!
//! Every key a script touches is passed in `KEYS` (Redis Cluster's rule; they all share the
//! queue's hash tag): the per-job meta keys of the jobs a call carries, and the in-flight lists
//! of the workers it looks at. Scripts that cannot know those before they run get them from a
//! plain read first (`heartbeat`, `depths`, `replay_oldest`) or keep what they need in a
//! declared queue-wide HASH (`fetch` reads and writes `:state`). Test builds wrap every script
//! in a check that fails on any undeclared key (see [`KEY_CHECK_PRELUDE`]).

use redis::{Script, Value, aio::ConnectionManager};

use crate::{
    ack::AckEvent,
    attempts::FAILURES_KEPT,
    config::{Keys, QueueConfig, now_ms},
    encoded_job::{EncodedJob, strip_stamp},
    error::{QueueError, Result},
};

/// Declares the scripts once, by the name of their file in `src/lua/`, each optionally with
/// the libraries of `src/lua/lib/` it uses in brackets (prepended to its source): the
/// [`Scripts`] fields, their loading, and (in tests) [`SOURCES`].
macro_rules! scripts {
    ($($name:ident $([$($lib:ident),+])?),+ $(,)?) => {
        /// The loaded scripts (EVALSHA with automatic SCRIPT LOAD on NOSCRIPT).
        #[derive(Debug)]
        pub(crate) struct Scripts {
            $($name: Script,)+
        }

        impl Scripts {
            pub(crate) fn new() -> Self {
                Self {
                    $($name: load(scripts!(@source $name $([$($lib),+])?)),)+
                }
            }
        }

        /// Every script's file name and source (with its libraries), for tests that inspect
        /// them.
        #[cfg(test)]
        pub(crate) const SOURCES: &[(&str, &str)] = &[$((
            concat!(stringify!($name), ".lua"),
            scripts!(@source $name $([$($lib),+])?),
        )),+];
    };
    (@source $name:ident $([$($lib:ident),+])?) => {
        concat!(
            $($(include_str!(concat!("lua/lib/", stringify!($lib), ".lua")), "\n",)+)?
            include_str!(concat!("lua/", stringify!($name), ".lua"))
        )
    };
}

scripts!(
    push,
    fetch,
    ack[failure],
    release,
    heartbeat,
    deregister,
    depths,
    replay,
    note[failure],
    cancel,
    delete,
    window,
);

/// Values `depths.lua` answers.
pub(crate) const DEPTHS_LEN: usize = 16;

/// What `fetch` answers instead of a due time when the queue is paused.
pub(crate) const PAUSED: i64 = -2;

/// Ids (and so per-job keys) per `push`/`release`/`replay`/`note`/`cancel`/`delete` call.
pub(crate) const ID_CHUNK: usize = 1_000;

fn protocol(script: &'static str, detail: impl Into<String>) -> QueueError {
    QueueError::Protocol {
        script,
        detail: detail.into(),
    }
}

fn as_i64(v: &Value, script: &'static str) -> Result<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| protocol(script, "non-numeric string")),
        other => Err(protocol(script, format!("expected integer, got {other:?}"))),
    }
}

fn ints(v: Vec<Value>, script: &'static str) -> Result<Vec<i64>> {
    v.iter().map(|x| as_i64(x, script)).collect()
}

/// Stale workers looked at per heartbeat.
const STALE_PER_HEARTBEAT: usize = 16;

/// Test builds only: prepended to every script, it makes `redis.call`/`redis.pcall` fail on a
/// key that is not in `KEYS` (keys found with `COMMAND GETKEYS`, so every command is covered).
#[cfg(test)]
pub(crate) const KEY_CHECK_PRELUDE: &str = r#"
local __declared = {}
for _, k in ipairs(KEYS) do __declared[k] = true end
local __redis = redis
local function __check(cmd, ...)
  local keys = __redis.pcall('COMMAND', 'GETKEYS', cmd, ...)
  if type(keys) == 'table' and not keys.err then
    for _, k in ipairs(keys) do
      if not __declared[k] then error('undeclared key ' .. k .. ' touched by ' .. cmd) end
    end
  end
end
local redis = setmetatable({
  call = function(cmd, ...) __check(cmd, ...) return __redis.call(cmd, ...) end,
  pcall = function(cmd, ...) __check(cmd, ...) return __redis.pcall(cmd, ...) end,
}, { __index = __redis })
"#;

fn load(source: &str) -> Script {
    #[cfg(test)]
    let source = &format!("{KEY_CHECK_PRELUDE}\n{source}");
    Script::new(source)
}

fn string(v: Value, script: &'static str, what: &str) -> Result<String> {
    match v {
        Value::BulkString(b) => {
            String::from_utf8(b).map_err(|_| protocol(script, format!("{what} not utf-8")))
        }
        other => Err(protocol(script, format!("{what}: {other:?}"))),
    }
}

/// One job as returned by `fetch.lua`.
pub(crate) struct FetchedJob {
    pub(crate) id: String,
    pub(crate) payload: Vec<u8>,
    /// Deliveries including this one.
    pub(crate) attempts: usize,
    pub(crate) max: usize,
}

/// A delivery orphan recovery took back from a lost worker, as `heartbeat.lua` reports it.
struct LostDelivery {
    id: String,
    /// Why it was re-queued (which worker was lost).
    why: String,
    /// Which delivery it was.
    attempt: i64,
    /// When that delivery started (ms, 0 if unknown).
    started_at_ms: i64,
}

impl FetchedJob {
    /// Delivered more often than allowed (its worker died each time): to be recorded dead,
    /// not run.
    pub(crate) fn exhausted(&self) -> bool {
        self.attempts > self.max
    }
}

impl Scripts {
    /// Pushes up to [`ID_CHUNK`] jobs, skipping ids the queue already knows; returns how many
    /// were added.
    pub(crate) async fn push(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        jobs: &[EncodedJob],
    ) -> Result<u64> {
        let mut invocation = self.push.prepare_invoke();
        invocation
            .key(&keys.data)
            .key(&keys.ready)
            .key(&keys.scheduled)
            .key(&keys.state)
            .key(&keys.enqueued)
            .arg(now_ms());
        for job in jobs {
            invocation
                .key(keys.job(&job.id))
                .arg(&job.id)
                .arg(&job.payload[..])
                .arg(job.run_at_ms.unwrap_or(0))
                .arg(job.max_attempts.unwrap_or(0));
        }
        let added: i64 = invocation.invoke_async(conn).await?;
        Ok(u64::try_from(added).unwrap_or(0))
    }

    /// Claims up to `n` jobs (`claimed`: an id BLMOVE already put in flight, or "").
    /// Returns the jobs and, when none, the next scheduled due time (ms, -1 if none,
    /// [`PAUSED`] if the queue is paused).
    pub(crate) async fn fetch(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        cfg: &QueueConfig,
        inflight: &str,
        n: usize,
        claimed: &str,
    ) -> Result<(Vec<FetchedJob>, i64)> {
        let reply: Vec<Value> = self
            .fetch
            .key(&keys.ready)
            .key(inflight)
            .key(&keys.scheduled)
            .key(&keys.data)
            .key(&keys.state)
            .key(&keys.paused)
            .arg(now_ms())
            .arg(n)
            .arg(cfg.max_attempts)
            .arg(cfg.promote_chunk)
            .arg(claimed)
            .invoke_async(conn)
            .await?;
        let mut it = reply.into_iter();
        let next_due = as_i64(
            &it.next().ok_or_else(|| protocol("fetch", "empty reply"))?,
            "fetch",
        )?;
        let rest: Vec<Value> = it.collect();
        if !rest.len().is_multiple_of(4) {
            return Err(protocol("fetch", "reply length not 1 + 4k"));
        }
        let mut jobs = Vec::with_capacity(rest.len() / 4);
        let mut rest = rest.into_iter();
        while let (Some(id), Some(payload), Some(attempts), Some(max)) =
            (rest.next(), rest.next(), rest.next(), rest.next())
        {
            let payload = match payload {
                Value::BulkString(b) => strip_stamp(b),
                other => return Err(protocol("fetch", format!("payload: {other:?}"))),
            };
            jobs.push(FetchedJob {
                id: string(id, "fetch", "id")?,
                payload,
                attempts: as_i64(&attempts, "fetch")?.max(0) as usize,
                max: as_i64(&max, "fetch")?.max(1) as usize,
            });
        }
        Ok((jobs, next_due))
    }

    /// Records up to `ack_chunk` outcomes in one call.
    pub(crate) async fn ack(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        cfg: &QueueConfig,
        inflight: &str,
        events: &[AckEvent],
    ) -> Result<()> {
        let mut inv = self.ack.prepare_invoke();
        inv.key(inflight)
            .key(&keys.scheduled)
            .key(&keys.data)
            .key(&keys.dead)
            .key(&keys.done)
            .key(&keys.state)
            .key(&keys.cancelled)
            .arg(now_ms())
            .arg(cfg.done_ttl_arg())
            .arg(FAILURES_KEPT);
        for ev in events {
            let (kind, at, text) = ev.script_args();
            inv.key(keys.job(&ev.id))
                .arg(&*ev.id)
                .arg(kind)
                .arg(at)
                .arg(text);
        }
        let reply: Vec<Value> = inv.invoke_async(conn).await?;
        let r = ints(reply, "ack")?;
        if r.get(3).copied().unwrap_or(0) > 0 {
            tracing::warn!(
                stale = r[3],
                "acks for jobs re-queued by orphan recovery were ignored"
            );
        }
        Ok(())
    }

    /// Gives prefetched, never-started jobs back to the head of ready.
    pub(crate) async fn release(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        inflight: &str,
        ids: &[String],
    ) -> Result<i64> {
        let mut inv = self.release.prepare_invoke();
        inv.key(inflight).key(&keys.ready).key(&keys.state);
        for id in ids {
            inv.arg(id);
        }
        Ok(inv.invoke_async(conn).await?)
    }

    /// Heartbeat + bounded orphan recovery. Returns true if more orphans may remain.
    ///
    /// Three steps: read the stale workers (plain `ZRANGEBYSCORE`), run `heartbeat.lua` with
    /// their in-flight lists declared, then (only when it re-queued jobs) note why on each job's
    /// meta with `note.lua`.
    pub(crate) async fn heartbeat(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        cfg: &QueueConfig,
        worker: &str,
        reclaim_self: bool,
    ) -> Result<bool> {
        let now = now_ms();
        let orphan_ms = cfg.orphan_after.as_millis() as i64;
        let stale: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(&keys.workers)
            .arg("-inf")
            .arg(now - orphan_ms)
            .arg("LIMIT")
            .arg(0)
            .arg(STALE_PER_HEARTBEAT)
            .query_async(conn)
            .await?;
        let stale: Vec<String> = stale.into_iter().filter(|w| w != worker).collect();
        let mut inv = self.heartbeat.prepare_invoke();
        inv.key(&keys.workers)
            .key(&keys.ready)
            .key(&keys.state)
            .key(keys.inflight(worker))
            .arg(now)
            .arg(orphan_ms)
            .arg(cfg.recover_chunk)
            .arg(worker)
            .arg(if reclaim_self { "1" } else { "0" });
        for w in &stale {
            inv.key(keys.inflight(w)).arg(w);
        }
        let reply: Vec<Value> = inv.invoke_async(conn).await?;
        let mut it = reply.into_iter();
        let (Some(moved), Some(more)) = (it.next(), it.next()) else {
            return Err(protocol("heartbeat", "reply shorter than 2"));
        };
        let (moved, more) = (as_i64(&moved, "heartbeat")?, as_i64(&more, "heartbeat")?);
        if moved > 0 {
            tracing::info!(worker, moved, "re-queued in-flight jobs of lost workers");
            let mut notes = Vec::with_capacity(moved as usize);
            while let (Some(id), Some(why), Some(attempt), Some(started)) =
                (it.next(), it.next(), it.next(), it.next())
            {
                notes.push(LostDelivery {
                    id: string(id, "heartbeat", "id")?,
                    why: string(why, "heartbeat", "reason")?,
                    attempt: as_i64(&attempt, "heartbeat")?,
                    started_at_ms: as_i64(&started, "heartbeat")?,
                });
            }
            for chunk in notes.chunks(ID_CHUNK) {
                // Only a diagnostic: the jobs are back in ready either way.
                if let Err(e) = self.note(conn, keys, chunk).await {
                    tracing::warn!(worker, error = %e, "could not note why jobs were re-queued");
                }
            }
        }
        Ok(more == 1)
    }

    /// Sets `last_error` on re-queued jobs that are still waiting to run again and records
    /// their lost delivery among their failed attempts.
    async fn note(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        notes: &[LostDelivery],
    ) -> Result<i64> {
        let mut inv = self.note.prepare_invoke();
        inv.key(&keys.data)
            .key(&keys.dead)
            .arg(now_ms())
            .arg(FAILURES_KEPT);
        for lost in notes {
            inv.key(keys.job(&lost.id))
                .arg(&lost.id)
                .arg(&lost.why)
                .arg(lost.attempt)
                .arg(lost.started_at_ms);
        }
        Ok(inv.invoke_async(conn).await?)
    }

    /// Removes the worker if its in-flight list is empty.
    pub(crate) async fn deregister(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        worker: &str,
    ) -> Result<bool> {
        let removed: i64 = self
            .deregister
            .key(&keys.workers)
            .key(keys.inflight(worker))
            .arg(worker)
            .invoke_async(conn)
            .await?;
        Ok(removed == 1)
    }

    /// Raw depths (see `depths.lua` for the order of its [`DEPTHS_LEN`] values): the worker
    /// names (plain `ZRANGE`), then one script call per [`ID_CHUNK`] workers (one in practice),
    /// all taken at `now` (ms).
    pub(crate) async fn depths(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        cfg: &QueueConfig,
        now: i64,
    ) -> Result<Vec<i64>> {
        let workers: Vec<String> = redis::cmd("ZRANGE")
            .arg(&keys.workers)
            .arg(0)
            .arg(-1)
            .query_async(conn)
            .await?;
        let mut total: Option<Vec<i64>> = None;
        for chunk in workers
            .chunks(ID_CHUNK)
            .chain(workers.is_empty().then_some(&[][..]))
        {
            let mut inv = self.depths.prepare_invoke();
            inv.key(&keys.ready)
                .key(&keys.scheduled)
                .key(&keys.dead)
                .key(&keys.done)
                .key(&keys.workers)
                .key(&keys.paused)
                .key(&keys.enqueued)
                .key(&keys.samples)
                .key(&keys.state)
                .key(&keys.data)
                .key(&keys.cancelled)
                .arg(now)
                .arg(cfg.orphan_after.as_millis() as i64);
            for w in chunk {
                inv.key(keys.inflight(w)).arg(w);
            }
            let reply: Vec<Value> = inv.invoke_async(conn).await?;
            let r = ints(reply, "depths")?;
            if r.len() != DEPTHS_LEN {
                return Err(protocol("depths", format!("{} values", r.len())));
            }
            match total.as_mut() {
                None => total = Some(r),
                // Later chunks only add their workers' in-flight counts.
                Some(t) => {
                    for i in [3, 4, 7] {
                        t[i] += r[i];
                    }
                }
            }
        }
        total.ok_or_else(|| protocol("depths", "no reply"))
    }

    /// Replays the given dead ids (at most [`ID_CHUNK`]); ids no longer dead are skipped.
    /// Returns (replayed, dropped because their payload is gone).
    pub(crate) async fn replay(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        ids: &[String],
    ) -> Result<(i64, i64)> {
        if ids.is_empty() {
            return Ok((0, 0));
        }
        let mut inv = self.replay.prepare_invoke();
        inv.key(&keys.dead)
            .key(&keys.ready)
            .key(&keys.data)
            .key(&keys.state)
            .arg(now_ms());
        for id in ids {
            inv.key(keys.job(id)).arg(id);
        }
        let reply: Vec<Value> = inv.invoke_async(conn).await?;
        let r = ints(reply, "replay")?;
        Ok((
            r.first().copied().unwrap_or(0),
            r.get(1).copied().unwrap_or(0),
        ))
    }

    /// Replays the oldest `limit` dead jobs (read with a plain `ZRANGE` first).
    /// Returns (ids read, replayed).
    pub(crate) async fn replay_oldest(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        limit: usize,
    ) -> Result<(usize, i64)> {
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(&keys.dead)
            .arg(0)
            .arg(limit.clamp(1, ID_CHUNK) - 1)
            .query_async(conn)
            .await?;
        let (replayed, _) = self.replay(conn, keys, &ids).await?;
        Ok((ids.len(), replayed))
    }

    /// Runs `script` (`cancel.lua` or `delete.lua`) over jobs `ids`, [`ID_CHUNK`] per call:
    /// KEYS are the data, state, scheduled, dead and cancelled keys then each job's record, ARGV
    /// `args` then the ids. The values every call answered, in order.
    async fn over_jobs(
        script: &Script,
        conn: &mut ConnectionManager,
        keys: &Keys,
        ids: &[String],
        args: &[i64],
    ) -> Result<Vec<Value>> {
        let mut replies = Vec::new();
        for chunk in ids.chunks(ID_CHUNK) {
            let mut inv = script.prepare_invoke();
            inv.key(&keys.data)
                .key(&keys.state)
                .key(&keys.scheduled)
                .key(&keys.dead)
                .key(&keys.cancelled);
            for arg in args {
                inv.arg(*arg);
            }
            for id in chunk {
                inv.key(keys.job(id)).arg(id);
            }
            let reply: Vec<Value> = inv.invoke_async(conn).await?;
            replies.extend(reply);
        }
        Ok(replies)
    }

    /// Cancels jobs (see `cancel.lua`), [`ID_CHUNK`] per call; one `(outcome, attempts,
    /// started_at_ms)` per id, in order.
    pub(crate) async fn cancel(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        ids: &[String],
        cooperative: bool,
    ) -> Result<Vec<(String, i64, i64)>> {
        let args = [now_ms(), i64::from(cooperative)];
        let reply = Self::over_jobs(&self.cancel, conn, keys, ids, &args).await?;
        if reply.len() != ids.len() * 3 {
            return Err(protocol("cancel", format!("{} values", reply.len())));
        }
        let mut out = Vec::with_capacity(ids.len());
        let mut it = reply.into_iter();
        while let (Some(outcome), Some(att), Some(started)) = (it.next(), it.next(), it.next()) {
            out.push((
                string(outcome, "cancel", "outcome")?,
                as_i64(&att, "cancel")?,
                as_i64(&started, "cancel")?,
            ));
        }
        Ok(out)
    }

    /// Deletes jobs that are not in flight (see `delete.lua`), [`ID_CHUNK`] per call; one
    /// outcome per id, in order.
    pub(crate) async fn delete(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        ids: &[String],
    ) -> Result<Vec<String>> {
        Self::over_jobs(&self.delete, conn, keys, ids, &[])
            .await?
            .into_iter()
            .map(|v| string(v, "delete", "outcome"))
            .collect()
    }

    /// Up to `n` entries of the sorted set `key` after the cursor entry `(after_score,
    /// after_id)` (`after_id` "" = from the start), ascending or descending (`rev`).
    pub(crate) async fn window(
        &self,
        conn: &mut ConnectionManager,
        key: &str,
        after: Option<(f64, &str)>,
        n: usize,
        rev: bool,
    ) -> Result<Vec<(String, f64)>> {
        let (score, id) = after.unwrap_or((0.0, ""));
        Ok(self
            .window
            .key(key)
            .arg(score)
            .arg(id)
            .arg(n.max(1))
            .arg(if rev { "1" } else { "0" })
            .invoke_async(conn)
            .await?)
    }
}
