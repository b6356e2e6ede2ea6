-- Remove a stopping worker if it holds nothing; otherwise leave it for orphan recovery.
-- KEYS: 1 workers ZSET, 2 inflight LIST
-- ARGV: 1 worker name
-- Returns: 1 if removed, 0 if jobs remain in flight
if redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
