-- Give prefetched-but-not-started jobs back to the head of the ready list (shutdown).
-- KEYS: 1 inflight LIST, 2 ready LIST
-- ARGV: 1 job meta key prefix, 2.. ids (in delivery order)
-- Returns: number released
local inflight, ready, prefix = KEYS[1], KEYS[2], ARGV[1]
local n = 0
for i = #ARGV, 2, -1 do
  local id = ARGV[i]
  if redis.call('LREM', inflight, -1, id) > 0 then
    local jk = prefix .. id
    redis.call('HINCRBY', jk, 'attempts', -1)
    redis.call('HSET', jk, 'status', 'queued')
    redis.call('LPUSH', ready, id)
    n = n + 1
  end
end
return n
