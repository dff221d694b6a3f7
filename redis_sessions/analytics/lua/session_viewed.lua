-- The book's update_token for viewed items, but only for a session that exists
-- (a made-up cookie never creates keys). Newest LIMIT items are kept, and the list
-- never outlives its session.
-- KEYS: 1 session data, 2 viewed:{KEY}
-- ARGV: 1 limit, then pairs of (time, item)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  return 0
end
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[1]) + 1))
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
