-- Login: merge the anonymous cart into the user's cart and delete it, atomically.
-- Strategies: 'add' sums quantities, 'keep_higher' keeps the larger one per line,
-- 'replace' makes the user's cart a copy of the anonymous one. Quantities are capped
-- at the per-line limit; lines past the per-cart limit are dropped and counted.
-- KEYS: 1 anonymous cart, 2 user cart, 3 carts: (index),
--       4 (the Cluster split only) this merge's done mark, cart-merged:{UID}:ID
-- ARGV: 1 strategy, 2 most units per line, 3 most lines, 4 now, 5 user cart ttl,
--       6 (with KEYS[4]) seconds the done mark is kept
-- Returns {lines merged, lines dropped}; {0, 0} when the anonymous cart is empty
-- (the user's cart is then left exactly as it was, whatever the strategy). With a
-- done mark, a merge already applied is not applied again: its reply is returned.
if KEYS[4] then
  local done = redis.call('GET', KEYS[4])
  if done then
    redis.call('DEL', KEYS[1])
    return cjson.decode(done)
  end
end
local anon = redis.call('HGETALL', KEYS[1])
if #anon == 0 then
  return {0, 0}
end
local strategy = ARGV[1]
local max_units, max_lines = tonumber(ARGV[2]), tonumber(ARGV[3])
if strategy == 'replace' then
  redis.call('DEL', KEYS[2])
end
local lines = redis.call('HLEN', KEYS[2])
local merged, dropped = 0, 0
for i = 1, #anon, 2 do
  local item, units = anon[i], tonumber(anon[i + 1])
  local current = tonumber(redis.call('HGET', KEYS[2], item) or '0')
  if current == 0 and lines >= max_lines then
    dropped = dropped + 1
  else
    local wanted = units
    if strategy == 'add' then
      wanted = current + units
    elseif strategy == 'keep_higher' and current > units then
      wanted = current
    end
    if wanted > max_units then
      wanted = max_units
    end
    redis.call('HSET', KEYS[2], item, wanted)
    if current == 0 then
      lines = lines + 1
    end
    merged = merged + 1
  end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], KEYS[1])
redis.call('ZADD', KEYS[3], ARGV[4], KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[5])
if KEYS[4] then
  redis.call('SET', KEYS[4], cjson.encode({merged, dropped}), 'EX', ARGV[6])
end
return {merged, dropped}
