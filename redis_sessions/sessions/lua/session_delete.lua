-- Remove one session and every trace of it, atomically.
-- KEYS: 1 session data, 2 viewed:{KEY}, 3 cart:{KEY}, 4 recent:, 5 login:, 6 carts:
-- ARGV: 1 session key, 2/3 head and tail of a user-sessions key
-- Returns the number of data keys deleted (0 or 1).
-- user_sessions_add / user_sessions_remove: user_sessions.lua, put before this file.
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[6], KEYS[3])
local uid = redis.call('HGET', KEYS[5], ARGV[1])
if uid then
  redis.call('HDEL', KEYS[5], ARGV[1])
  user_sessions_remove(ARGV[2] .. uid .. ARGV[3], ARGV[1])
end
return existed
