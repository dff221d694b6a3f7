-- Empty one cart and drop it from the index of non-empty carts, atomically (a line
-- added between the two would otherwise leave a cart the index does not know).
-- KEYS: 1 the cart hash, 2 carts:
-- Returns the number of lines removed.
local lines = redis.call('HLEN', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
return lines
