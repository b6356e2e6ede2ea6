-- Library prepended to the scripts that record failed deliveries (see `scripts!` in scripts.rs).
-- record_failure: appends one failed delivery to the job's meta HASH `meta` (a declared key) as
-- `failure:<n>` = 'attempt,started_at_ms,ended_at_ms,outcome,text' (format: attempts.rs), `n`
-- counted by the `failures` field, and drops the entry that falls out of the last `kept`.
local function record_failure(meta, attempt, started_at, ended_at, outcome, text, kept)
  local n = redis.call('HINCRBY', meta, 'failures', 1)
  redis.call('HSET', meta, 'failure:' .. n,
    attempt .. ',' .. started_at .. ',' .. ended_at .. ',' .. outcome .. ',' .. text)
  if n > kept then redis.call('HDEL', meta, 'failure:' .. (n - kept)) end
end
