-- Record why jobs were re-queued by orphan recovery (heartbeat.lua cannot: it learns the ids
-- only while it runs, and a job's meta key must be declared). Jobs that finished or died since
-- are left alone.
-- KEYS: 1 data HASH, 2 dead ZSET, 2 + j: meta HASH of the j-th job, in ARGV order
-- ARGV: per job: id, text
-- Returns: number noted
local data, dead = KEYS[1], KEYS[2]
if #KEYS ~= 2 + #ARGV / 2 then
  return redis.error_reply('note: pass one meta key per job')
end
local n, j = 0, 0
for i = 1, #ARGV, 2 do
  j = j + 1
  local id = ARGV[i]
  if redis.call('HEXISTS', data, id) == 1 and not redis.call('ZSCORE', dead, id) then
    redis.call('HSET', KEYS[2 + j], 'last_error', ARGV[i + 1])
    n = n + 1
  end
end
return n
