-- Record outcomes of finished jobs.
-- KEYS: 1 inflight LIST (this worker), 2 scheduled ZSET, 3 data HASH, 4 dead ZSET, 5 done counter
-- ARGV: 1 now_ms, 2 job meta key prefix, 3 done meta ttl secs (0 = delete meta, -1 = keep),
--       then groups of 4: id, kind ('ok' | 'retry' | 'dead'), retry_at_ms, text (result or error)
-- Returns: { done, retried, dead, stale }
local inflight, sched, data, dead, done_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = tonumber(ARGV[1])
local prefix = ARGV[2]
local ttl = tonumber(ARGV[3])
local done, retried, killed, stale = 0, 0, 0, 0
for i = 4, #ARGV, 4 do
  local id, kind, at, text = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local jk = prefix .. id
  local removed = redis.call('LREM', inflight, 1, id)
  if kind == 'ok' then
    -- Success is recorded even if ownership was lost: the fetch script drops ids without data.
    redis.call('HDEL', data, id)
    done = done + 1
    if ttl == 0 then
      redis.call('DEL', jk)
    else
      redis.call('HSET', jk, 'status', 'done', 'result', text, 'finished_at', now)
      if ttl > 0 then redis.call('EXPIRE', jk, ttl) end
    end
  elseif removed == 0 then
    -- Another worker re-queued this job (we were presumed dead); it owns the job now.
    stale = stale + 1
  elseif kind == 'retry' then
    redis.call('ZADD', sched, at, id)
    redis.call('HSET', jk, 'status', 'retrying', 'last_error', text, 'retry_at', at)
    retried = retried + 1
  else
    redis.call('ZADD', dead, now, id)
    redis.call('HSET', jk, 'status', 'dead', 'last_error', text, 'finished_at', now)
    killed = killed + 1
  end
end
if done > 0 then redis.call('INCRBY', done_key, done) end
return { done, retried, killed, stale }
