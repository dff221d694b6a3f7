-- Cluster login merge, after the merge in the user's slot, in the anonymous cart's
-- slot: the merged units leave the anonymous cart (units added since stay, to be
-- merged next) and the pending merge is dropped.
-- KEYS: 1 anonymous cart, 2 its pending merge
-- ARGV: 1 the merge id
-- Returns the lines left in the anonymous cart; -1 when the pending merge is not this
-- one (a concurrent login finished it): nothing changed.
if redis.call('HGET', KEYS[2], '') ~= ARGV[1] then
  return -1
end
local pending = redis.call('HGETALL', KEYS[2])
for i = 1, #pending, 2 do
  local item = pending[i]
  if item ~= '' then
    if redis.call('HINCRBY', KEYS[1], item, -tonumber(pending[i + 1])) <= 0 then
      redis.call('HDEL', KEYS[1], item)
    end
  end
end
redis.call('DEL', KEYS[2])
return redis.call('HLEN', KEYS[1])
