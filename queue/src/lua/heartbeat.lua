-- Heartbeat + bounded orphan recovery.
-- KEYS: 1 workers ZSET, 2 ready LIST
-- ARGV: 1 now_ms, 2 orphan_after_ms, 3 chunk, 4 inflight key prefix, 5 this worker,
--       6 job meta key prefix, 7 '1' to also re-queue this worker's own leftover in-flight list
-- Returns: { moved, more (1 if the chunk was exhausted) }
local workers, ready = KEYS[1], KEYS[2]
local now, orphan_ms, chunk = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ifx, me, prefix, reclaim_self = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
redis.call('ZADD', workers, now, me)

local moved = 0
local function drain(w, why)
  local key = ifx .. w
  while moved < chunk do
    local id = redis.call('LMOVE', key, ready, 'RIGHT', 'LEFT')
    if not id then break end
    redis.call('HSET', prefix .. id, 'status', 'queued', 'last_error', why)
    moved = moved + 1
  end
  return redis.call('LLEN', key) == 0
end

if reclaim_self == '1' then
  drain(me, 'requeued: worker ' .. me .. ' restarted')
end
local stale = redis.call('ZRANGEBYSCORE', workers, '-inf', now - orphan_ms, 'LIMIT', 0, 16)
for _, w in ipairs(stale) do
  if moved >= chunk then break end
  if w ~= me then
    if drain(w, 'requeued: worker ' .. w .. ' lost') then
      redis.call('ZREM', workers, w)
    end
  end
end
local more = 0
if moved >= chunk then more = 1 end
return { moved, more }
