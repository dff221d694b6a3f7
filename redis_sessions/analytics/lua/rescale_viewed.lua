-- The book's rescale_viewed, atomically: keep the top LIMIT items of viewed: and
-- halve every score (scores are minus the views, so the order is unchanged).
-- KEYS: 1 viewed:; ARGV: 1 items kept
-- Returns {items removed, items kept}.
local removed = redis.call('ZREMRANGEBYRANK', KEYS[1], tonumber(ARGV[1]), -1)
local kept = redis.call('ZINTERSTORE', KEYS[1], 1, KEYS[1], 'WEIGHTS', 0.5)
return {removed, kept}
