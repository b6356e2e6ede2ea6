-- Push jobs, skipping ids the queue already knows (payload waiting, scheduled, in flight or
-- dead, or meta kept after it succeeded), so a producer can retry a push with the same id safely.
-- A payload is stored as `<enqueued_at_ms>|<payload>` (see encoded_job.rs), so the age of the
-- oldest waiting job can be read without a second key per job.
-- KEYS: 1 data HASH, 2 ready LIST, 3 scheduled ZSET, 4 state HASH, 5 enqueued counter,
--       5 + j: meta HASH of the j-th job (`:job:<id>`), one per job, in ARGV order
-- ARGV: 1 now_ms, then per job: id, payload, run_at_ms (0 = now), max (0 = default)
-- Returns: the number of jobs added.
local data, ready, sched, state = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1])
local stamp = ARGV[1] .. '|'
if #KEYS ~= 5 + (#ARGV - 1) / 4 then
  return redis.error_reply('push: pass one meta key per job')
end
local added = 0
local now_ids = {}
local j = 0
for i = 2, #ARGV, 4 do
  j = j + 1
  local id, payload = ARGV[i], ARGV[i + 1]
  local run_at, max = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  if redis.call('EXISTS', KEYS[5 + j]) == 0 and redis.call('HSETNX', data, id, stamp .. payload) == 1 then
    if max > 0 then redis.call('HSET', state, id, '0,' .. max .. ',0') end
    if run_at > now then
      redis.call('ZADD', sched, run_at, id)
    else
      now_ids[#now_ids + 1] = id
    end
    added = added + 1
  end
end
if #now_ids > 0 then redis.call('RPUSH', ready, unpack(now_ids)) end
if added > 0 then redis.call('INCRBY', KEYS[5], added) end
return added
