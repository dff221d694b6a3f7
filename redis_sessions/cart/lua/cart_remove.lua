-- Remove some lines of a cart, or all of them, keeping the carts: index in step
-- (a cart that becomes empty leaves the index in the same atomic step).
-- KEYS: 1 cart, 2 carts: (index)
-- ARGV: 1 now, 2 'all' | 'items', then the items to remove
-- Returns the number of lines removed.
local removed
if ARGV[2] == 'all' then
  removed = redis.call('HLEN', KEYS[1])
  redis.call('DEL', KEYS[1])
else
  removed = redis.call('HDEL', KEYS[1], unpack(ARGV, 3))
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], KEYS[1])
elseif removed > 0 then
  redis.call('ZADD', KEYS[2], ARGV[1], KEYS[1])
end
return removed
