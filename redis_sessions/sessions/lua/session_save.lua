-- Create (NX) or update (XX) one session and its index entries, atomically.
-- KEYS: 1 session data, 2 recent:, 3 login:
-- ARGV: 1 data, 2 ttl seconds, 3 'NX'|'XX', 4 now, 5 session key,
--       6 user id ('' when anonymous), 7/8 head and tail of a user-sessions key
-- Returns 1, or 0 when NX found the key taken / XX found it gone (nothing changed).
-- user_sessions_add / user_sessions_remove: user_sessions.lua, put before this file.
if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], ARGV[3]) then
  return 0
end
local key, uid = ARGV[5], ARGV[6]
redis.call('ZADD', KEYS[2], ARGV[4], key)
local old = redis.call('HGET', KEYS[3], key)
if old and old ~= uid then
  user_sessions_remove(ARGV[7] .. old .. ARGV[8], key)
end
if uid ~= '' then
  if old ~= uid then
    redis.call('HSET', KEYS[3], key, uid)
    user_sessions_add(ARGV[7] .. uid .. ARGV[8], key, math.floor(tonumber(ARGV[4])))
  end
elseif old then
  redis.call('HDEL', KEYS[3], key)
end
return 1
