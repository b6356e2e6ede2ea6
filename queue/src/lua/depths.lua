-- Queue depths, latency and counters in one script call.
-- The caller reads the worker names first (ZRANGE workers 0 -1, a plain command) and passes
-- their in-flight lists here, at most 1,000 per call; workers gone meanwhile count nothing.
-- KEYS: 1 ready, 2 scheduled, 3 dead, 4 done counter, 5 workers, 6 paused flag,
--       7 enqueued counter, 8 samples LIST, 9 state HASH, 10 data HASH, 11 cancelled ZSET,
--       11 + i: inflight LIST of the worker named in ARGV[2 + i]
-- ARGV: 1 now_ms, 2 orphan_after_ms, 2 + i: name of the i-th worker
-- Returns: { ready, scheduled_due, scheduled_future, inflight_live, inflight_orphaned,
--            dead, done, live_workers, paused, enqueued, ready_since_ms, due_since_ms,
--            sample_ms, sample_enqueued, sample_done, cancelled }
-- (`*_since_ms` -1: none; `sample_*`: the counters as they were about 10 s ago, -1 if unknown.)
-- Bounded work: the head of ready is looked at up to 10 ids deep (cancelled ids wait there
-- until a fetch drops them), the samples list holds at most 120 entries.
local now, orphan_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
if #KEYS ~= #ARGV + 9 then
  return redis.error_reply('depths: pass one inflight key per worker')
end
local live, orphaned, live_workers = 0, 0, 0
for i = 1, #ARGV - 2 do
  local seen = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[2 + i]))
  if seen then
    local n = redis.call('LLEN', KEYS[11 + i])
    if seen >= now - orphan_ms then
      live = live + n
      live_workers = live_workers + 1
    else
      orphaned = orphaned + n
    end
  end
end

-- Since when the oldest waiting job waits: its promotion time (4th state field) or, pushed to
-- run now, the enqueue stamp in front of its payload.
local ready_since = -1
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, 9)) do
  local st = redis.call('HGET', KEYS[9], id)
  local since = st and tonumber(string.match(st, '^%-?%d+,%d+,%d+,(%d+)'))
  if not since then
    local payload = redis.call('HGET', KEYS[10], id)
    if payload then since = tonumber(string.match(payload, '^(%d+)|')) or now end
  end
  if since then
    ready_since = since
    break
  end
end
local due_since = -1
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #first > 0 and tonumber(first[2]) <= now then due_since = tonumber(first[2]) end

-- Counter samples, at most one a second, so rates need no state in the readers.
local done = tonumber(redis.call('GET', KEYS[4]) or '0')
local enqueued = tonumber(redis.call('GET', KEYS[7]) or '0')
local head = redis.call('LINDEX', KEYS[8], 0)
if not head or now - tonumber(string.match(head, '^(%d+)')) >= 1000 then
  redis.call('LPUSH', KEYS[8], now .. ',' .. enqueued .. ',' .. done)
  redis.call('LTRIM', KEYS[8], 0, 119)
end
local sample = { -1, -1, -1 }
for _, s in ipairs(redis.call('LRANGE', KEYS[8], 0, 119)) do
  local t, e, d = string.match(s, '^(%d+),(%d+),(%d+)')
  t = tonumber(t)
  if t and t < now then
    sample = { t, tonumber(e), tonumber(d) }
    if t <= now - 10000 then break end
  end
end

return {
  redis.call('LLEN', KEYS[1]),
  redis.call('ZCOUNT', KEYS[2], '-inf', now),
  redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf'),
  live, orphaned,
  redis.call('ZCARD', KEYS[3]),
  done,
  live_workers,
  redis.call('EXISTS', KEYS[6]),
  enqueued,
  ready_since, due_since,
  sample[1], sample[2], sample[3],
  redis.call('ZCARD', KEYS[11]),
}
