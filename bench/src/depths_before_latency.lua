-- Queue depths in one script call.
-- The caller reads the worker names first (ZRANGE workers 0 -1, a plain command) and passes
-- their in-flight lists here, at most 1,000 per call; workers gone meanwhile count nothing.
-- KEYS: 1 ready, 2 scheduled, 3 dead, 4 done counter, 5 workers,
--       5 + i: inflight LIST of the worker named in ARGV[2 + i]
-- ARGV: 1 now_ms, 2 orphan_after_ms, 2 + i: name of the i-th worker
-- Returns: { ready, scheduled_due, scheduled_future, inflight_live, inflight_orphaned,
--            dead, done, live_workers }
local now, orphan_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
if #KEYS ~= #ARGV + 3 then
  return redis.error_reply('depths: pass one inflight key per worker')
end
local live, orphaned, live_workers = 0, 0, 0
for i = 1, #ARGV - 2 do
  local seen = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[2 + i]))
  if seen then
    local n = redis.call('LLEN', KEYS[5 + i])
    if seen >= now - orphan_ms then
      live = live + n
      live_workers = live_workers + 1
    else
      orphaned = orphaned + n
    end
  end
end
return {
  redis.call('LLEN', KEYS[1]),
  redis.call('ZCOUNT', KEYS[2], '-inf', now),
  redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf'),
  live, orphaned,
  redis.call('ZCARD', KEYS[3]),
  tonumber(redis.call('GET', KEYS[4]) or '0'),
  live_workers,
}
