-- Delete every cached page of one item, and the item's set of pages.
-- KEYS: 1 item-pages:{ITEM}; ARGV: 1 page key prefix (up to the digest)
-- Returns the number of pages deleted.
local n = 0
for _, digest in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + redis.call('DEL', ARGV[1] .. digest)
end
redis.call('DEL', KEYS[1])
return n
