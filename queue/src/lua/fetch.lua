-- Claim up to N jobs for one worker, atomically.
-- KEYS: 1 ready LIST, 2 inflight LIST (this worker), 3 scheduled ZSET, 4 data HASH, 5 dead ZSET
-- ARGV: 1 now_ms, 2 n, 3 default max attempts, 4 promote limit, 5 job meta key prefix,
--       6 id already moved to inflight by BLMOVE ('' if none)
-- Returns: { next_due_ms (-1 if none or if jobs were returned), id, payload, attempts, max, ... }
local ready, inflight, sched, data, dead = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local default_max = tonumber(ARGV[3])
local promote = tonumber(ARGV[4])
local prefix = ARGV[5]
local claimed = ARGV[6]

-- Promote due scheduled jobs in a bounded chunk (never unpack an unbounded set).
local due = redis.call('ZRANGEBYSCORE', sched, '-inf', now, 'LIMIT', 0, promote)
if #due > 0 then
  redis.call('ZREM', sched, unpack(due))
  redis.call('RPUSH', ready, unpack(due))
end

local out = { -1 }
local function deliver(id)
  local payload = redis.call('HGET', data, id)
  local jk = prefix .. id
  if not payload then
    -- Finished or purged meanwhile (e.g. a duplicate after orphan recovery): drop it.
    redis.call('LREM', inflight, -1, id)
    return
  end
  local att = redis.call('HINCRBY', jk, 'attempts', 1)
  local max = tonumber(redis.call('HGET', jk, 'max')) or default_max
  if att > max then
    -- Delivered more often than allowed (its worker died each time): dead.
    redis.call('LREM', inflight, -1, id)
    redis.call('ZADD', dead, now, id)
    redis.call('HSET', jk, 'status', 'dead', 'finished_at', now,
      'last_error', 'delivered ' .. att .. ' times, max attempts is ' .. max .. ' (worker lost?)')
    return
  end
  redis.call('HSET', jk, 'status', 'running', 'started_at', now)
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
