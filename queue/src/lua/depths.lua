-- Queue depths in one round trip.
-- KEYS: 1 ready, 2 scheduled, 3 dead, 4 done counter, 5 workers
-- ARGV: 1 now_ms, 2 orphan_after_ms, 3 inflight key prefix
-- Returns: { ready, scheduled_due, scheduled_future, inflight_live, inflight_orphaned,
--            dead, done, live_workers }
local now, orphan_ms, ifx = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local live, orphaned, live_workers = 0, 0, 0
local ws = redis.call('ZRANGE', KEYS[5], 0, -1, 'WITHSCORES')
for i = 1, #ws, 2 do
  local n = redis.call('LLEN', ifx .. ws[i])
  if tonumber(ws[i + 1]) >= now - orphan_ms then
    live = live + n
    live_workers = live_workers + 1
  else
    orphaned = orphaned + n
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
