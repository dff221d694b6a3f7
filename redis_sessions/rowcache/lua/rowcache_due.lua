-- Take the rows due for a refresh and, in the same step, the version of each, which
-- the refresh compares before storing. Rows without a positive delay: (scheduled by
-- hand, or unscheduled half-way) are removed with their entry instead of crashing
-- the loop as the book's cache_rows does.
-- KEYS: 1 schedule:, 2 delay:
-- ARGV: 1 now, 2 batch size, 3 entry key head, 4 version key head, 5 key tail
-- Returns {rows taken, rows removed, member1, version1, member2, version2, ...}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {#due, 0}
for _, member in ipairs(due) do
  local delay = redis.call('ZSCORE', KEYS[2], member)
  if (not delay) or tonumber(delay) <= 0 then
    redis.call('ZREM', KEYS[1], member)
    redis.call('ZREM', KEYS[2], member)
    redis.call('DEL', ARGV[3] .. member .. ARGV[5])
    out[2] = out[2] + 1
  else
    out[#out + 1] = member
    out[#out + 1] = redis.call('GET', ARGV[4] .. member .. ARGV[5]) or ''
  end
end
return out
