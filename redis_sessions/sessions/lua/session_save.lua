-- Create (NX) or update (XX) one session and its index entries, atomically.
-- KEYS: 1 session data, 2 recent:, 3 expires:, 4 login:
-- ARGV: 1 data, 2 ttl seconds, 3 'NX'|'XX', 4 now, 5 expiry time, 6 session key,
--       7 user id ('' when anonymous), 8/9 head and tail of a user-sessions key
-- Returns 1, or 0 when NX found the key taken / XX found it gone (nothing changed).
if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], ARGV[3]) then
  return 0
end
local key, uid = ARGV[6], ARGV[7]
redis.call('ZADD', KEYS[2], ARGV[4], key)
redis.call('ZADD', KEYS[3], ARGV[5], key)
local old = redis.call('HGET', KEYS[4], key)
if old and old ~= uid then
  redis.call('SREM', ARGV[8] .. old .. ARGV[9], key)
end
if uid ~= '' then
  if old ~= uid then
    redis.call('HSET', KEYS[4], key, uid)
    redis.call('SADD', ARGV[8] .. uid .. ARGV[9], key)
  end
elseif old then
  redis.call('HDEL', KEYS[4], key)
end
return 1
