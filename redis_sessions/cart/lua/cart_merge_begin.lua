-- Cluster login merge, first step, in the anonymous cart's slot: what to merge, under
-- which merge id. A merge left unfinished (a failure between the split's steps) is
-- taken up again with its own id and lines, so that the user's slot recognises it
-- and never applies it twice; otherwise the cart's lines are recorded under a new id.
-- KEYS: 1 anonymous cart, 2 its pending merge (a hash: the lines, and '' -> merge id)
-- ARGV: 1 a new merge id, 2 seconds a pending merge is kept
-- Returns {1 when taken up again else 0, merge id, {item, units, ...}}; {} when the
-- cart is empty and no merge is pending.
local pending = redis.call('HGETALL', KEYS[2])
if #pending > 0 then
  local id, lines = nil, {}
  for i = 1, #pending, 2 do
    if pending[i] == '' then
      id = pending[i + 1]
    else
      lines[#lines + 1] = pending[i]
      lines[#lines + 1] = pending[i + 1]
    end
  end
  return {1, id, lines}
end
local lines = redis.call('HGETALL', KEYS[1])
if #lines == 0 then
  return {}
end
redis.call('HSET', KEYS[2], '', ARGV[1])
for i = 1, #lines, 2 do
  redis.call('HSET', KEYS[2], lines[i], lines[i + 1])
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return {0, ARGV[1], lines}
