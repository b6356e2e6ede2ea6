//! Lua scripts (in `src/lua/`) and their typed wrappers. Every script does bounded work
//! per call: at most `n`/`promote_chunk`/`recover_chunk`/`ack_chunk` jobs, and never
//! `unpack`s more than 1,000 values.

use redis::{Script, Value, aio::ConnectionManager};

use crate::{
    ack::AckEvent,
    config::{Keys, QueueConfig, now_ms},
    encoded_job::EncodedJob,
    error::{QueueError, Result},
};

/// The loaded scripts (EVALSHA with automatic SCRIPT LOAD on NOSCRIPT).
#[derive(Debug)]
pub(crate) struct Scripts {
    push: Script,
    fetch: Script,
    ack: Script,
    release: Script,
    heartbeat: Script,
    deregister: Script,
    depths: Script,
    replay: Script,
}

/// Ids per `release`/`replay` call.
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

/// One job as returned by `fetch.lua`.
pub(crate) struct FetchedJob {
    pub(crate) id: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) attempts: usize,
    pub(crate) max: usize,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            push: Script::new(include_str!("lua/push.lua")),
            fetch: Script::new(include_str!("lua/fetch.lua")),
            ack: Script::new(include_str!("lua/ack.lua")),
            release: Script::new(include_str!("lua/release.lua")),
            heartbeat: Script::new(include_str!("lua/heartbeat.lua")),
            deregister: Script::new(include_str!("lua/deregister.lua")),
            depths: Script::new(include_str!("lua/depths.lua")),
            replay: Script::new(include_str!("lua/replay.lua")),
        }
    }

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
            .arg(now_ms())
            .arg(&keys.job_prefix);
        for job in jobs {
            invocation
                .arg(&job.id)
                .arg(&job.payload[..])
                .arg(job.run_at_ms.unwrap_or(0))
                .arg(job.max_attempts.unwrap_or(0));
        }
        let added: i64 = invocation.invoke_async(conn).await?;
        Ok(u64::try_from(added).unwrap_or(0))
    }

    /// Claims up to `n` jobs (`claimed`: an id BLMOVE already put in flight, or "").
    /// Returns the jobs and, when none, the next scheduled due time (ms, -1 if none).
    pub(crate) async fn fetch(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        cfg: &QueueConfig,
        inflight: &str,
        n: usize,
        claimed: &str,
    ) -> Result<(Vec<FetchedJob>, i64)> {
        let k = keys;
        let reply: Vec<Value> = self
            .fetch
            .key(&k.ready)
            .key(inflight)
            .key(&k.scheduled)
            .key(&k.data)
            .key(&k.dead)
            .arg(now_ms())
            .arg(n)
            .arg(cfg.max_attempts)
            .arg(cfg.promote_chunk)
            .arg(&k.job_prefix)
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
        for c in rest.chunks(4) {
            let id = match &c[0] {
                Value::BulkString(b) => {
                    String::from_utf8(b.clone()).map_err(|_| protocol("fetch", "id not utf-8"))?
                }
                other => return Err(protocol("fetch", format!("id: {other:?}"))),
            };
            let payload = match &c[1] {
                Value::BulkString(b) => b.clone(),
                other => return Err(protocol("fetch", format!("payload: {other:?}"))),
            };
            jobs.push(FetchedJob {
                id,
                payload,
                attempts: as_i64(&c[2], "fetch")?.max(0) as usize,
                max: as_i64(&c[3], "fetch")?.max(1) as usize,
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
        let k = keys;
        let mut inv = self.ack.prepare_invoke();
        inv.key(inflight)
            .key(&k.scheduled)
            .key(&k.data)
            .key(&k.dead)
            .key(&k.done)
            .arg(now_ms())
            .arg(&k.job_prefix)
            .arg(cfg.done_ttl_arg());
        for ev in events {
            let (kind, at, text) = ev.script_args();
            inv.arg(&*ev.id).arg(kind).arg(at).arg(text);
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
        inv.key(inflight).key(&keys.ready).arg(&keys.job_prefix);
        for id in ids {
            inv.arg(id);
        }
        Ok(inv.invoke_async(conn).await?)
    }

    /// Heartbeat + bounded orphan recovery. Returns true if more orphans may remain.
    pub(crate) async fn heartbeat(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        cfg: &QueueConfig,
        worker: &str,
        reclaim_self: bool,
    ) -> Result<bool> {
        let k = keys;
        let reply: Vec<Value> = self
            .heartbeat
            .key(&k.workers)
            .key(&k.ready)
            .arg(now_ms())
            .arg(cfg.orphan_after.as_millis() as i64)
            .arg(cfg.recover_chunk)
            .arg(&k.inflight_prefix)
            .arg(worker)
            .arg(&k.job_prefix)
            .arg(if reclaim_self { "1" } else { "0" })
            .invoke_async(conn)
            .await?;
        let r = ints(reply, "heartbeat")?;
        let moved = r.first().copied().unwrap_or(0);
        if moved > 0 {
            tracing::info!(worker, moved, "re-queued in-flight jobs of lost workers");
        }
        Ok(r.get(1).copied().unwrap_or(0) == 1)
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

    /// Raw depths (see `depths.lua`).
    pub(crate) async fn depths(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        cfg: &QueueConfig,
    ) -> Result<Vec<i64>> {
        let k = keys;
        let reply: Vec<Value> = self
            .depths
            .key(&k.ready)
            .key(&k.scheduled)
            .key(&k.dead)
            .key(&k.done)
            .key(&k.workers)
            .arg(now_ms())
            .arg(cfg.orphan_after.as_millis() as i64)
            .arg(&k.inflight_prefix)
            .invoke_async(conn)
            .await?;
        let r = ints(reply, "depths")?;
        if r.len() != 8 {
            return Err(protocol("depths", format!("{} values", r.len())));
        }
        Ok(r)
    }

    /// Replays the given dead ids, or (empty `ids`) the oldest `limit` dead jobs.
    /// Returns (replayed, dropped because their payload is gone).
    pub(crate) async fn replay(
        &self,
        conn: &mut ConnectionManager,
        keys: &Keys,
        ids: &[String],
        limit: usize,
    ) -> Result<(i64, i64)> {
        let k = keys;
        let mut inv = self.replay.prepare_invoke();
        inv.key(&k.dead)
            .key(&k.ready)
            .key(&k.data)
            .arg(&k.job_prefix)
            .arg(now_ms())
            .arg(limit.max(1));
        for id in ids {
            inv.arg(id);
        }
        let reply: Vec<Value> = inv.invoke_async(conn).await?;
        let r = ints(reply, "replay")?;
        Ok((
            r.first().copied().unwrap_or(0),
            r.get(1).copied().unwrap_or(0),
        ))
    }
}
