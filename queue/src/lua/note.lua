-- Record why jobs were re-queued by orphan recovery (heartbeat.lua cannot: it learns the ids
-- only while it runs, and a job's meta key must be declared): `last_error`, and the lost
-- delivery among the job's failures (lib/failure.lua). Jobs that finished or died since are
-- left alone.
-- KEYS: 1 data HASH, 2 dead ZSET, 2 + j: meta HASH of the j-th job, in ARGV order
-- ARGV: 1 now_ms, 2 failures kept, then per job: id, text, attempt, started_at_ms
-- Returns: number noted
local data, dead = KEYS[1], KEYS[2]
local now, kept = ARGV[1], tonumber(ARGV[2])
if #KEYS ~= 2 + (#ARGV - 2) / 4 then
  return redis.error_reply('note: pass one meta key per job')
end
local n, j = 0, 0
for i = 3, #ARGV, 4 do
  j = j + 1
  local id, text, meta = ARGV[i], ARGV[i + 1], KEYS[2 + j]
  if redis.call('HEXISTS', data, id) == 1 and not redis.call('ZSCORE', dead, id) then
    redis.call('HSET', meta, 'last_error', text)
    record_failure(meta, ARGV[i + 2], ARGV[i + 3], now, 'lost', text, kept)
    n = n + 1
  end
end
return n
