-- Claim up to N jobs for one worker, atomically.
-- KEYS: 1 ready LIST, 2 inflight LIST (this worker), 3 scheduled ZSET, 4 data HASH, 5 state HASH,
--       6 paused flag
-- ARGV: 1 now_ms, 2 n, 3 default max attempts, 4 promote limit,
--       5 id already moved to inflight by BLMOVE ('' if none)
-- Returns: { next_due_ms (-1 if none or if jobs were returned, -2 if the queue is paused),
--            id, payload, attempts, max, ... }
-- A paused queue hands out nothing: an id BLMOVE claimed meanwhile goes back to the head.
-- A job returned with attempts > max was delivered more often than allowed (its worker died
-- each time): the worker does not run it but records it dead through ack.lua, the script that
-- may write the job's meta key. Until then it stays in this worker's in-flight list.
local ready, inflight, sched, data, state = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = ARGV[1]
local n = tonumber(ARGV[2])
local default_max = tonumber(ARGV[3])
local promote = tonumber(ARGV[4])
local claimed = ARGV[5]

if redis.call('EXISTS', KEYS[6]) == 1 then
  if claimed ~= '' and redis.call('LREM', inflight, -1, claimed) > 0 then
    redis.call('LPUSH', ready, claimed)
  end
  return { -2 }
end

-- Promote due scheduled jobs in a bounded chunk (never unpack an unbounded set). Each one
-- remembers when it became due as a 4th state field, its "ready since" for the latency read.
local due = redis.call('ZRANGEBYSCORE', sched, '-inf', now, 'WITHSCORES', 'LIMIT', 0, promote)
if #due > 0 then
  local ids = {}
  for i = 1, #due, 2 do
    local id, at = due[i], due[i + 1]
    ids[#ids + 1] = id
    local st = redis.call('HGET', state, id)
    local a, m = 0, 0
    if st then a, m = string.match(st, '^(%-?%d+),(%d+)') end
    redis.call('HSET', state, id, (a or 0) .. ',' .. (m or 0) .. ',0,' .. at)
  end
  redis.call('ZREM', sched, unpack(ids))
  redis.call('RPUSH', ready, unpack(ids))
end

local out = { -1 }
local function deliver(id)
  local payload = redis.call('HGET', data, id)
  if not payload then
    -- Finished, cancelled or purged meanwhile (e.g. a duplicate after orphan recovery): drop it.
    redis.call('LREM', inflight, -1, id)
    return
  end
  -- state: 'attempts,max,started_at_ms[,ready_since_ms]' (absent: never delivered, queue
  -- default max).
  local att, max = 0, 0
  local st = redis.call('HGET', state, id)
  if st then
    local a, m = string.match(st, '^(%-?%d+),(%d+)')
    att, max = tonumber(a) or 0, tonumber(m) or 0
  end
  att = att + 1
  redis.call('HSET', state, id, att .. ',' .. max .. ',' .. now)
  if max == 0 then max = default_max end
  out[#out + 1] = id
  out[#out + 1] = payload
  out[#out + 1] = att
  out[#out + 1] = max
end

if claimed ~= '' then
  deliver(claimed)
  n = n - 1
end
for _ = 1, n do
  local id = redis.call('LMOVE', ready, inflight, 'LEFT', 'RIGHT')
  if not id then break end
  deliver(id)
end
if #out == 1 then
  local first = redis.call('ZRANGE', sched, 0, 0, 'WITHSCORES')
  if #first > 0 then out[1] = tonumber(first[2]) end
end
return out
