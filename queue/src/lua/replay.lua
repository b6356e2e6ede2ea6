-- Move dead jobs back to ready, keeping their ids; attempts restart at 0 (a per-job max stays).
-- The caller picks the ids (given, or the oldest of the dead set read with ZRANGE first).
-- KEYS: 1 dead ZSET, 2 ready LIST, 3 data HASH, 4 state HASH,
--       4 + j: meta HASH of the j-th id, in ARGV order
-- ARGV: 1 now_ms, 2.. ids
-- Returns: { replayed, missing_data }
local dead, ready, data, state = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = ARGV[1]
if #KEYS ~= 4 + #ARGV - 1 then
  return redis.error_reply('replay: pass one meta key per id')
end
local replayed, missing = 0, 0
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('ZREM', dead, id) == 1 then
    local st = redis.call('HGET', state, id)
    local m = (st and string.match(st, '^%-?%d+,(%d+)')) or '0'
    if redis.call('HEXISTS', data, id) == 1 then
      -- Ready since now (4th field), for the latency read.
      redis.call('HSET', state, id, '0,' .. m .. ',0,' .. now)
      -- While a job is held, its state says where it is; the meta keeps its history (its
      -- failed attempts, `replayed_at`).
      redis.call('HDEL', KEYS[3 + i], 'status')
      redis.call('HSET', KEYS[3 + i], 'replayed_at', now)
      redis.call('RPUSH', ready, id)
      replayed = replayed + 1
    else
      redis.call('HDEL', state, id)
      missing = missing + 1
    end
  end
end
return { replayed, missing }
