-- Write one cart line within the limits: add units ('add') or set the quantity ('set';
-- 0 removes the line). The check and the write are one atomic step, so concurrent
-- writes cannot overshoot.
-- KEYS: 1 cart, 2 carts: (index), 3 session data (anonymous cart) or the cart again
-- ARGV: 1 item, 2 units to add (> 0) or the quantity to set (>= 0), 3 most units per
--       line, 4 most lines, 5 now, 6 ttl seconds (0: the cart lives as long as its
--       session), 7 '1' when KEYS[3] must exist (a cart never outlives, or is created
--       without, its session), 8 'add' or 'set'
-- Returns {status, n}: {1, new quantity}; {-1, current quantity} over the per-line
-- limit; {-2, lines} the cart is full; {-3, 0} the session is gone. Only status 1
-- changes anything.
local cart, carts, owner = KEYS[1], KEYS[2], KEYS[3]
local item, n, now, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[5], tonumber(ARGV[6])
local adding = ARGV[8] == 'add'
if not adding and n == 0 then
  redis.call('HDEL', cart, item)
  if redis.call('EXISTS', cart) == 0 then
    redis.call('ZREM', carts, cart)
  else
    redis.call('ZADD', carts, now, cart)
  end
  return {1, 0}
end
if ARGV[7] == '1' and redis.call('EXISTS', owner) == 0 then
  return {-3, 0}
end
local current = tonumber(redis.call('HGET', cart, item) or '0')
local wanted = n
if adding then
  wanted = current + n
end
if wanted > tonumber(ARGV[3]) then
  return {-1, current}
end
if current == 0 then
  local lines = redis.call('HLEN', cart)
  if lines >= tonumber(ARGV[4]) then
    return {-2, lines}
  end
end
redis.call('HSET', cart, item, wanted)
redis.call('ZADD', carts, now, cart)
if ttl > 0 then
  redis.call('EXPIRE', cart, ttl)
end
return {1, wanted}
