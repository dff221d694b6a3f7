-- Evict the oldest sessions beyond the limit, at most a batch of them, atomically
-- (clean_sessions). The pick is part of the step: what goes is what is oldest when
-- the script runs, so no session picked can have been used since (nothing to
-- re-check), and batches sent one behind the other each take the oldest left.
-- What goes: evict_sessions (evict_sessions.lua), and the recent: entries (by rank).
-- KEYS: 1 recent:, 2 login:, 3 carts:
-- ARGV: 1 '1' to report the evicted sessions' user ids and carts (a receiver is
--       connected), 2 data head, 3 viewed head, 4 cart head, 5/6 head and tail of a
--       user-sessions key, 7 the limit (sessions to keep), 8 most sessions to evict
-- Returns {the evicted session keys, oldest first, user ids ('' when anonymous),
--          carts (HGETALL of each, in the same order), number of keys deleted,
--          sessions left in recent:}; ids and carts are empty unless asked.
local report = ARGV[1] == '1'
local heads = {ARGV[2] .. '{', ARGV[3] .. '{', ARGV[4] .. '{', ARGV[5], ARGV[6]}
local size = redis.call('ZCARD', KEYS[1])
local take = math.min(tonumber(ARGV[8]), size - tonumber(ARGV[7]))
if take <= 0 then
  return {{}, {}, {}, 0, size}
end
local doomed = redis.call('ZRANGE', KEYS[1], 0, take - 1)
local uids, carts, deleted = evict_sessions(doomed, take, KEYS[2], KEYS[3], heads, report)
-- evict_sessions leaves recent: alone: the oldest `take` are still ranks 0 to take-1
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, take - 1)
if report then
  return {doomed, uids, carts, deleted, size - take}
end
return {doomed, {}, {}, deleted, size - take}
