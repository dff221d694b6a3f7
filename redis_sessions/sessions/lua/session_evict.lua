-- Evict a batch of picked sessions, every trace of each, atomically (expired sessions
-- for clean_sessions and clearsessions; evict()). A picked session goes only if it is
-- still what was seen when it was picked:
--   mode 'limit':   its recent: score is unchanged (a request after the pick saves it);
--   mode 'expired': its data key is gone (Redis expired it by TTL; a live session
--                   stays, however long ago it was last seen).
-- (clean_sessions evicts beyond the limit with session_evict_oldest.lua, which picks
-- inside the step.) What goes: evict_sessions (evict_sessions.lua), and the recent:
-- entry.
-- KEYS: 1 recent:, 2 login:, 3 carts:
-- ARGV: 1 mode, 2 '1' to report the evicted sessions' user ids and carts (a receiver
--       is connected), 3 data head, 4 viewed head, 5 cart head, 6/7 head and tail of
--       a user-sessions key, 8 n, then n session keys, then (mode 'limit') their n
--       scores seen at pick time (keys first, so that ZMSCORE takes them from ARGV)
-- Returns {flags: one byte per picked session, in pick order, '1' evicted, '0' kept,
--          user ids of the evicted ('' when anonymous), carts (HGETALL of each, in
--          the same order), number of keys deleted}; ids and carts are empty unless
--          asked: the caller knows the keys it picked, and the flags say which went.
local mode, report = ARGV[1], ARGV[2] == '1'
local heads = {ARGV[3] .. '{', ARGV[4] .. '{', ARGV[5] .. '{', ARGV[6], ARGV[7]}
-- SLICE, call: evict_sessions.lua.
local n, first = tonumber(ARGV[8]), 9
local last = first + n - 1
local limit_mode = mode == 'limit'
local scores = {}
if limit_mode then
  -- ZMSCORE answers nil (false) for a member that is gone: deleted meanwhile, skip it.
  for i = first, last, SLICE do
    local now = call('ZMSCORE', KEYS[1], unpack(ARGV, i, math.min(i + SLICE - 1, last)))
    for k = 1, #now do scores[i - first + k] = now[k] end
  end
end
local doomed, flags, d = {}, {}, 0
for j = first, last do
  local qualifies
  if limit_mode then
    local score, seen = scores[j - first + 1], ARGV[j + n]
    -- the same text as the pick sent back (RESP2) is the common case; else compare
    -- the numbers (RESP3 clients send the float's repr)
    qualifies = score and (score == seen or tonumber(score) == tonumber(seen))
  else
    qualifies = call('EXISTS', heads[1] .. ARGV[j] .. '}') == 0
  end
  if qualifies then
    d = d + 1
    doomed[d] = ARGV[j]
    flags[j - first + 1] = '1'
  else
    flags[j - first + 1] = '0'
  end
end
if d == 0 then
  return {table.concat(flags), {}, {}, 0}
end
local uids, carts, deleted = evict_sessions(doomed, d, KEYS[2], KEYS[3], heads, report)
for i = 1, d, SLICE do
  call('ZREM', KEYS[1], unpack(doomed, i, math.min(i + SLICE - 1, d)))
end
if report then
  return {table.concat(flags), uids, carts, deleted}
end
return {table.concat(flags), {}, {}, deleted}
