-- Record outcomes of finished jobs.
-- KEYS: 1 inflight LIST (this worker), 2 scheduled ZSET, 3 data HASH, 4 dead ZSET,
--       5 done counter, 6 state HASH, 7 cancelled ZSET,
--       7 + j: meta HASH of the j-th job (`:job:<id>`), one per outcome, in ARGV order
-- ARGV: 1 now_ms, 2 done meta ttl secs (0 = delete meta, -1 = keep), 3 failures kept,
--       then groups of 4: id, kind ('ok' | 'retry' | 'dead' | 'cancel'), retry_at_ms,
--       text (result or error)
-- Returns: { done, retried, dead, stale, cancelled }
-- 'cancel': the handler honoured an operator's cancellation at a safe point.
-- A job whose payload goes (done, cancelled) keeps its enqueue stamp as `enqueued_at` in the meta
-- it gets anyway; a failed delivery is appended to the meta's failures (lib/failure.lua).
local inflight, sched, data, dead, done_key, state, cancelled_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local kept = tonumber(ARGV[3])
if #KEYS ~= 7 + (#ARGV - 3) / 4 then
  return redis.error_reply('ack: pass one meta key per outcome')
end

-- The job's state `st` ('attempts,max,started_at_ms') written back with the in-flight mark
-- cleared.
local function idle(id, st)
  if st then
    local a, m = string.match(st, '^(%-?%d+),(%d+)')
    redis.call('HSET', state, id, a .. ',' .. m .. ',0')
  end
end

-- The failed delivery the state `st` describes, into the job's meta `jk`.
local function failed(jk, st, outcome, text)
  local a, s = string.match(st or '', '^(%-?%d+),%d+,(%d+)')
  record_failure(jk, a or 0, s or 0, now, outcome, text, kept)
end

-- The enqueue stamp of job `id`'s payload (read before the payload goes), else the one its meta
-- `jk` kept before, else ''.
local function enqueued_at(id, jk)
  local payload = redis.call('HGET', data, id)
  return (payload and string.match(payload, '^(%d+)|')) or redis.call('HGET', jk, 'enqueued_at')
    or ''
end

local done, retried, killed, stale, cancelled = 0, 0, 0, 0, 0
local j = 0
for i = 4, #ARGV, 4 do
  j = j + 1
  local id, kind, at, text = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local jk = KEYS[7 + j]
  local removed = redis.call('LREM', inflight, 1, id)
  if kind == 'ok' then
    -- Success is recorded even if ownership was lost: the fetch script drops ids without data.
    done = done + 1
    if ttl == 0 then
      redis.call('HDEL', data, id)
      redis.call('HDEL', state, id)
      redis.call('DEL', jk)
    else
      local enq = enqueued_at(id, jk)
      redis.call('HDEL', data, id)
      local st = redis.call('HGET', state, id)
      redis.call('HDEL', state, id)
      local att = (st and string.match(st, '^(%-?%d+),')) or '0'
      redis.call('HSET', jk, 'status', 'done', 'result', text, 'finished_at', now, 'attempts', att,
        'enqueued_at', enq)
      if ttl > 0 then redis.call('EXPIRE', jk, ttl) end
    end
  elseif removed == 0 then
    -- Another worker re-queued this job (we were presumed dead); it owns the job now.
    stale = stale + 1
  elseif kind == 'cancel' then
    local st = redis.call('HGET', state, id)
    local att = (st and string.match(st, '^(%-?%d+),')) or '0'
    local enq = enqueued_at(id, jk)
    redis.call('HDEL', data, id)
    redis.call('HDEL', state, id)
    redis.call('ZADD', cancelled_key, now, id)
    redis.call('HSET', jk, 'status', 'cancelled', 'last_error', text, 'finished_at', now,
      'attempts', att, 'enqueued_at', enq)
    cancelled = cancelled + 1
  elseif kind == 'retry' then
    local st = redis.call('HGET', state, id)
    redis.call('ZADD', sched, at, id)
    redis.call('HSET', jk, 'last_error', text, 'retry_at', at)
    failed(jk, st, 'retried', text)
    idle(id, st)
    retried = retried + 1
  else
    local st = redis.call('HGET', state, id)
    redis.call('ZADD', dead, now, id)
    redis.call('HSET', jk, 'status', 'dead', 'last_error', text, 'finished_at', now)
    failed(jk, st, 'gave_up', text)
    idle(id, st)
    killed = killed + 1
  end
end
if done > 0 then redis.call('INCRBY', done_key, done) end
return { done, retried, killed, stale, cancelled }
