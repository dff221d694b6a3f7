-- Set the quantity of one cart line (0 removes it), within the limits, atomically.
-- KEYS: 1 cart, 2 carts: (index), 3 session data (anonymous cart) or the cart again
-- ARGV: 1 item, 2 quantity (>= 0), 3 most units per line, 4 most lines, 5 now,
--       6 ttl seconds (0: lives as long as its session), 7 '1' when KEYS[3] must exist
-- Returns {status, n} like cart_add.lua: {1, quantity}, {-1, current}, {-2, lines},
-- {-3, 0}. Only status 1 changes anything.
local wanted = tonumber(ARGV[2])
if wanted == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('ZREM', KEYS[2], KEYS[1])
  else
    redis.call('ZADD', KEYS[2], ARGV[5], KEYS[1])
  end
  return {1, 0}
end
if ARGV[7] == '1' and redis.call('EXISTS', KEYS[3]) == 0 then
  return {-3, 0}
end
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
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
