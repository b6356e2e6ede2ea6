-- One window of a sorted set for keyset pagination: the `n` entries after the cursor entry
-- (`after_id` with score `after_score`), ascending or (`rev` = 1) descending. Bounded work:
-- a rank lookup (or a count, when the cursor entry left the set meanwhile) and one range.
-- KEYS: 1 ZSET
-- ARGV: 1 after_score, 2 after_id ('' = from the start), 3 n, 4 rev ('1' | '0')
-- Returns: { id, score, id, score, ... }
local key, score, after, n, rev = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local start = 0
if after ~= '' then
  local rank
  if rev then rank = redis.call('ZREVRANK', key, after) else rank = redis.call('ZRANK', key, after) end
  if rank then
    start = rank + 1
  elseif rev then
    start = redis.call('ZCOUNT', key, '(' .. score, '+inf')
  else
    start = redis.call('ZCOUNT', key, '-inf', '(' .. score)
  end
end
if rev then
  return redis.call('ZRANGE', key, start, start + n - 1, 'REV', 'WITHSCORES')
end
return redis.call('ZRANGE', key, start, start + n - 1, 'WITHSCORES')
