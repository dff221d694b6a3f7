-- Drop carts: index entries whose cart no longer exists (a user's cart that reached
-- its TTL). A cart that still exists keeps its entry.
-- KEYS: 1 carts: (index); ARGV: cart keys to look at
-- Returns the number of entries dropped.
local n = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', ARGV[i]) == 0 then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return n
