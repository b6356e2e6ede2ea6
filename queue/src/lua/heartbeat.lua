-- Heartbeat + bounded orphan recovery.
-- The caller reads the stale workers first (ZRANGEBYSCORE workers -inf now-orphan_after, a plain
-- command) and passes their in-flight lists here; staleness is checked again inside.
-- KEYS: 1 workers ZSET, 2 ready LIST, 3 state HASH, 4 this worker's inflight LIST,
--       4 + i: inflight LIST of the i-th stale worker named in ARGV[5 + i]
-- ARGV: 1 now_ms, 2 orphan_after_ms, 3 chunk, 4 this worker,
--       5 '1' to also re-queue this worker's own leftover in-flight list,
--       5 + i: name of the i-th stale worker
-- Returns: { moved, more (1 if the chunk was exhausted), then per re-queued job: id, reason,
--            attempts, started_at_ms of the lost delivery }
local workers, ready, state = KEYS[1], KEYS[2], KEYS[3]
local now, orphan_ms, chunk = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local me, reclaim_self = ARGV[4], ARGV[5]
if #KEYS ~= #ARGV - 1 then
  return redis.error_reply('heartbeat: pass one inflight key per stale worker')
end
redis.call('ZADD', workers, now, me)

local moved = 0
local out = { 0, 0 }
local function drain(key, why)
  while moved < chunk do
    local id = redis.call('LMOVE', key, ready, 'RIGHT', 'LEFT')
    if not id then break end
    local st = redis.call('HGET', state, id)
    local a, m = string.match(st or '', '^(%-?%d+),(%d+)')
    local s = string.match(st or '', '^%-?%d+,%d+,(%d+)')
    if st then
      redis.call('HSET', state, id, a .. ',' .. m .. ',0')
    end
    out[#out + 1] = id
    out[#out + 1] = why
    out[#out + 1] = tonumber(a) or 0
    out[#out + 1] = tonumber(s) or 0
    moved = moved + 1
  end
  return redis.call('LLEN', key) == 0
end

if reclaim_self == '1' then
  drain(KEYS[4], 'requeued: worker ' .. me .. ' restarted')
end
for i = 1, #ARGV - 5 do
  if moved >= chunk then break end
  local w = ARGV[5 + i]
  local seen = tonumber(redis.call('ZSCORE', workers, w))
  if w ~= me and seen and seen <= now - orphan_ms then
    if drain(KEYS[4 + i], 'requeued: worker ' .. w .. ' lost') then
      redis.call('ZREM', workers, w)
    end
  end
end
out[1] = moved
if moved >= chunk then out[2] = 1 end
return out
