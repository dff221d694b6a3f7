-- Create (NX) or update (XX) one session and its index entries, atomically.
-- KEYS: 1 session data, 2 recent:, 3 login:
-- ARGV: 1 data, 2 ttl seconds, 3 'NX'|'XX', 4 now, 5 session key,
--       6 user id ('' when anonymous), 7/8 head and tail of a user-sessions key
-- Returns 1, or 0 when NX found the key taken / XX found it gone (nothing changed).
-- user-sessions:{UID} is a zset (score: the second a session was added; a small
-- zset is a listpack, where Redis 7.0 keeps a small set as a hashtable). A set
-- written by earlier code becomes a zset when a session is added to it.
local function user_sessions_add(key, member, now)
  if redis.call('TYPE', key).ok == 'set' then
    local members = redis.call('SMEMBERS', key)
    redis.call('DEL', key)
    for i = 1, #members do redis.call('ZADD', key, now, members[i]) end
  end
  redis.call('ZADD', key, now, member)
end
local function user_sessions_remove(key, member)
  if redis.call('TYPE', key).ok == 'set' then
    redis.call('SREM', key, member)
  else
    redis.call('ZREM', key, member)
  end
end
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
