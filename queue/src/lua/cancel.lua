-- Cancel jobs: a job waiting (ready, scheduled, retrying) or dead loses its payload and is
-- recorded `cancelled` (with its enqueue instant); it never runs (a ready-list entry left
-- behind is dropped by the next fetch). A job in flight is not touched: with `cooperative` = 1
-- (its handler checks at safe points) it is marked `cancel_requested` on its meta, else it is
-- reported running.
-- KEYS: 1 data HASH, 2 state HASH, 3 scheduled ZSET, 4 dead ZSET, 5 cancelled ZSET,
--       5 + j: meta HASH of the j-th id, in ARGV order
-- ARGV: 1 now_ms, 2 cooperative ('1' | '0'), 3.. ids
-- Returns per id: { outcome, attempts, started_at_ms } with outcome one of
--   'cancelled', 'requested', 'running', 'done', 'dead_gone', 'already', 'unknown'
local data, state, sched, dead, cancelled = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, coop = ARGV[1], ARGV[2]
if #KEYS ~= 5 + #ARGV - 2 then
  return redis.error_reply('cancel: pass one meta key per id')
end
local out = {}
for i = 3, #ARGV do
  local id, meta = ARGV[i], KEYS[3 + i]
  local att, started = 0, 0
  local st = redis.call('HGET', state, id)
  if st then
    local a, _, s = string.match(st, '^(%-?%d+),(%d+),(%d+)')
    att, started = tonumber(a) or 0, tonumber(s) or 0
  end
  local outcome
  if redis.call('HEXISTS', data, id) == 0 then
    local status = redis.call('HGET', meta, 'status')
    if status == 'cancelled' then outcome = 'already'
    elseif status == 'done' then outcome = 'done'
    elseif status then outcome = 'dead_gone'
    else outcome = 'unknown' end
  elseif started > 0 then
    if coop == '1' then
      redis.call('HSET', meta, 'cancel_requested', now)
      outcome = 'requested'
    else
      outcome = 'running'
    end
  else
    -- The enqueue stamp outlives the payload in the meta (`enqueued_at`).
    local enq = string.match(redis.call('HGET', data, id), '^(%d+)|') or ''
    redis.call('HDEL', data, id)
    redis.call('HDEL', state, id)
    redis.call('ZREM', sched, id)
    redis.call('ZREM', dead, id)
    redis.call('ZADD', cancelled, now, id)
    redis.call('HSET', meta, 'status', 'cancelled', 'finished_at', now, 'attempts', att,
      'enqueued_at', enq)
    outcome = 'cancelled'
  end
  out[#out + 1] = outcome
  out[#out + 1] = att
  out[#out + 1] = started
end
return out
