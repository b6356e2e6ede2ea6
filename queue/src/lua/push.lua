-- Push jobs, skipping ids the queue already knows (payload waiting or in flight, or meta kept
-- after it finished), so a producer can retry a push with the same id safely.
-- KEYS: 1 data HASH, 2 ready LIST, 3 scheduled ZSET
-- ARGV: 1 now_ms, 2 job meta key prefix, then per job: id, payload, run_at_ms (0 = now), max (0 = default)
-- Returns: the number of jobs added.
local data, ready, sched = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local prefix = ARGV[2]
local added = 0
local now_ids = {}
for i = 3, #ARGV, 4 do
  local id, payload = ARGV[i], ARGV[i + 1]
  local run_at, max = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local jk = prefix .. id
  if redis.call('EXISTS', jk) == 0 and redis.call('HSETNX', data, id, payload) == 1 then
    if max > 0 then redis.call('HSET', jk, 'max', max) end
    if run_at > now then
      redis.call('ZADD', sched, run_at, id)
    else
      now_ids[#now_ids + 1] = id
    end
    added = added + 1
  end
end
if #now_ids > 0 then redis.call('RPUSH', ready, unpack(now_ids)) end
return added
