-- Delete jobs that are not in flight: payload, state, their place in scheduled, dead or
-- cancelled, and their meta (with their failed attempts). The id is forgotten (it may be
-- pushed again). A ready-list entry left behind is dropped by the next fetch.
-- KEYS: 1 data HASH, 2 state HASH, 3 scheduled ZSET, 4 dead ZSET, 5 cancelled ZSET,
--       5 + j: meta HASH of the j-th id, in ARGV order
-- ARGV: ids
-- Returns per id: 'deleted', 'running' (left alone) or 'unknown'
local data, state, sched, dead, cancelled = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if #KEYS ~= 5 + #ARGV then
  return redis.error_reply('delete: pass one meta key per id')
end
local out = {}
for i = 1, #ARGV do
  local id, meta = ARGV[i], KEYS[5 + i]
  local st = redis.call('HGET', state, id)
  local started = st and tonumber(string.match(st, '^%-?%d+,%d+,(%d+)')) or 0
  if started > 0 and redis.call('HEXISTS', data, id) == 1 then
    out[i] = 'running'
  else
    local n = redis.call('HDEL', data, id) + redis.call('ZREM', dead, id)
      + redis.call('ZREM', cancelled, id) + redis.call('ZREM', sched, id)
      + redis.call('DEL', meta)
    redis.call('HDEL', state, id)
    out[i] = (n > 0) and 'deleted' or 'unknown'
  end
end
return out
