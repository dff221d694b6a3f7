-- Add units of one item to a cart, never past the per-line or per-cart limits: the
-- check and the write are one atomic step, so concurrent adds cannot overshoot.
-- KEYS: 1 cart, 2 carts: (index), 3 session data (anonymous cart) or the cart again
-- ARGV: 1 item, 2 units (> 0), 3 most units per line, 4 most lines, 5 now,
--       6 ttl seconds (0: the cart lives as long as its session), 7 '1' when KEYS[3]
--       must exist (a cart never outlives, or is created without, its session)
-- Returns {status, n}: {1, new quantity}; {-1, current quantity} over the per-line
-- limit; {-2, lines} the cart is full; {-3, 0} the session is gone. Only status 1
-- changes anything.
if ARGV[7] == '1' and redis.call('EXISTS', KEYS[3]) == 0 then
  return {-3, 0}
end
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local wanted = current + tonumber(ARGV[2])
if wanted > tonumber(ARGV[3]) then
  return {-1, current}
end
if current == 0 then
  local lines = redis.call('HLEN', KEYS[1])
  if lines >= tonumber(ARGV[4]) then
    return {-2, lines}
  end
end
redis.call('HSET', KEYS[1], ARGV[1], wanted)
redis.call('ZADD', KEYS[2], ARGV[5], KEYS[1])
if tonumber(ARGV[6]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[6])
end
return {1, wanted}
