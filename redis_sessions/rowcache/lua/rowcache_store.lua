-- Write the documents of one cache_rows batch and their next refresh times.
-- A row whose version moved since rowcache_due (written meanwhile) is not stored
-- and is due again just after this pass; a row unscheduled meanwhile stays
-- unscheduled; a row gone from the database ('' document) is removed.
-- KEYS: 1 schedule:, 2 delay:
-- ARGV: 1 entry key head, 2 version key head, 3 key tail, 4 now,
--       then per row: member, expected version, document or '', entry TTL
-- Returns {stored, stale, removed, next due score or ''}
local stored, stale, removed = 0, 0, 0
local now = tonumber(ARGV[4])
for i = 5, #ARGV, 4 do
  local member, doc = ARGV[i], ARGV[i + 2]
  local entry = ARGV[1] .. member .. ARGV[3]
  local delay = redis.call('ZSCORE', KEYS[2], member)
  if doc == '' or (not delay) or tonumber(delay) <= 0 then
    redis.call('ZREM', KEYS[1], member)
    redis.call('ZREM', KEYS[2], member)
    redis.call('DEL', entry)
    removed = removed + 1
  elseif (redis.call('GET', ARGV[2] .. member .. ARGV[3]) or '') == ARGV[i + 1] then
    redis.call('SET', entry, doc, 'EX', ARGV[i + 3])
    -- XX: never re-add a member that was unscheduled during the pass
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(delay), member)
    stored = stored + 1
  else
    -- Just after `now`, so this pass (which takes rows due at `now`) ends.
    redis.call('ZADD', KEYS[1], 'XX', now + 0.001, member)
    stale = stale + 1
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {stored, stale, removed, first[2] or ''}
