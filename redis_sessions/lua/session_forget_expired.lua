-- Remove the index entries of sessions whose data Redis already expired (TTL).
-- A session that still has data is left alone, whatever its expires: score says.
-- KEYS: 1 recent:, 2 expires:, 3 login:, 4 carts:
-- ARGV: 1 key prefix (up to 'session:'), 2/3 head and tail of a user-sessions key,
--       4 prefix of viewed keys, 5 prefix of cart keys, then session keys
-- Returns the number of sessions forgotten.
local n = 0
for i = 6, #ARGV do
  local key = ARGV[i]
  local tag = '{' .. key .. '}'
  if redis.call('EXISTS', ARGV[1] .. tag) == 0 then
    redis.call('DEL', ARGV[4] .. tag, ARGV[5] .. tag)
    redis.call('ZREM', KEYS[1], key)
    redis.call('ZREM', KEYS[2], key)
    redis.call('ZREM', KEYS[4], ARGV[5] .. tag)
    local uid = redis.call('HGET', KEYS[3], key)
    if uid then
      redis.call('HDEL', KEYS[3], key)
      redis.call('SREM', ARGV[2] .. uid .. ARGV[3], key)
    end
    n = n + 1
  end
end
return n
