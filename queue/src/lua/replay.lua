-- Move dead jobs back to ready, keeping their ids; attempts restart at 0.
-- KEYS: 1 dead ZSET, 2 ready LIST, 3 data HASH
-- ARGV: 1 job meta key prefix, 2 now_ms, 3 limit (used when no ids are given), 4.. ids
-- Returns: { replayed, missing_data }
local dead, ready, data, prefix, now, limit = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], tonumber(ARGV[3])
local ids = {}
if #ARGV > 3 then
  for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('ZRANGE', dead, 0, limit - 1)
end
local replayed, missing = 0, 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', dead, id) == 1 then
    if redis.call('HEXISTS', data, id) == 1 then
      redis.call('HSET', prefix .. id, 'status', 'queued', 'attempts', 0, 'replayed_at', now)
      redis.call('RPUSH', ready, id)
      replayed = replayed + 1
    else
      missing = missing + 1
    end
  end
end
return { replayed, missing }
