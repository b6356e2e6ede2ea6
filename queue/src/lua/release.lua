-- Give prefetched-but-not-started jobs back to the head of the ready list (shutdown), with
-- their delivery undone.
-- KEYS: 1 inflight LIST, 2 ready LIST, 3 state HASH
-- ARGV: ids (in delivery order)
-- Returns: number released
local inflight, ready, state = KEYS[1], KEYS[2], KEYS[3]
local n = 0
for i = #ARGV, 1, -1 do
  local id = ARGV[i]
  if redis.call('LREM', inflight, -1, id) > 0 then
    local st = redis.call('HGET', state, id)
    if st then
      local a, m = string.match(st, '^(%-?%d+),(%d+)')
      local att = (tonumber(a) or 1) - 1
      if att <= 0 and m == '0' then
        redis.call('HDEL', state, id)
      else
        redis.call('HSET', state, id, att .. ',' .. m .. ',0')
      end
    end
    redis.call('LPUSH', ready, id)
    n = n + 1
  end
end
return n
