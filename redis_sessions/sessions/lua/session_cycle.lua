-- Move a session to a new key (login, password change): data, viewed items,
-- anonymous cart and index entries go to the new key; nothing of the old one stays.
-- KEYS: 1 old data, 2 new data, 3 old viewed, 4 new viewed, 5 old cart, 6 new cart,
--       7 recent:, 8 login:, 9 carts:
-- ARGV: 1 data, 2 ttl, 3 now, 4 old key, 5 new key,
--       6/7 head and tail of a user-sessions key
-- Returns 1, or 0 when the new key is taken (nothing changed; pick another key).
-- user_sessions_add / user_sessions_remove: user_sessions.lua, put before this file.
if not redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2], 'NX') then
  return 0
end
local old, new = ARGV[4], ARGV[5]
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('RENAME', KEYS[3], KEYS[4])
end
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('RENAME', KEYS[5], KEYS[6])
  local changed = redis.call('ZSCORE', KEYS[9], KEYS[5])
  if changed then
    redis.call('ZREM', KEYS[9], KEYS[5])
    redis.call('ZADD', KEYS[9], changed, KEYS[6])
  end
end
redis.call('ZREM', KEYS[7], old)
redis.call('ZADD', KEYS[7], ARGV[3], new)
local uid = redis.call('HGET', KEYS[8], old)
if uid then
  local user_sessions = ARGV[6] .. uid .. ARGV[7]
  redis.call('HDEL', KEYS[8], old)
  user_sessions_remove(user_sessions, old)
  redis.call('HSET', KEYS[8], new, uid)
  user_sessions_add(user_sessions, new, math.floor(tonumber(ARGV[3])))
end
return 1
