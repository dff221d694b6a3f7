-- Evict a batch of picked sessions, every trace of each, atomically (clean_sessions).
-- A picked session goes only if it is still what the cleaner saw when it picked it:
--   mode 'limit':   its recent: score is unchanged (a request after the pick saves it);
--   mode 'expired': its data key is gone (Redis expired it by TTL; a live session
--                   stays, however long ago it was last seen).
-- For each evicted session: data, viewed:{KEY}, anonymous cart:{KEY} and its carts:
-- entry, recent:, login: and user-sessions:{UID} entries (the set that
-- session_delete.lua removes for one session). The user's own cart is not touched.
-- Keys are built here from heads passed in ARGV, as in session_forget: a batch spans
-- many hash tags, so this script is for a single server, not a cluster.
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
-- the heads with the '{' of the hash tag: a key is head .. session key .. '}'
local data_head, viewed_head, cart_head = ARGV[3] .. '{', ARGV[4] .. '{', ARGV[5] .. '{'
local us_head, us_tail = ARGV[6], ARGV[7]
-- unpack() is limited by the Lua C stack (~8000): send big lists in slices.
local SLICE = 1000
-- This script is the cleaner's whole cost in Redis: measured per evicted session,
-- the Lua around the commands (arguments and replies converted, tables, strings)
-- is a third of it, so the loops below stay lean (a local call, no closures).
local call = redis.call
-- user_sessions_add / user_sessions_remove: user_sessions.lua, put before this file.

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
    qualifies = call('EXISTS', data_head .. ARGV[j] .. '}') == 0
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

-- user ids before the login: entries go (one HMGET per slice, not one call a session)
local uids = {}
for i = 1, d, SLICE do
  local part = call('HMGET', KEYS[2], unpack(doomed, i, math.min(i + SLICE - 1, d)))
  for j = 1, #part do uids[i + j - 1] = part[j] or '' end
end

local carts, doomed_keys, cart_keys, k = {}, {}, {}, 0
for i = 1, d do
  local key = doomed[i]
  local cart = cart_head .. key .. '}'
  if report then
    carts[i] = call('HGETALL', cart)
  end
  doomed_keys[k + 1] = data_head .. key .. '}'
  doomed_keys[k + 2] = viewed_head .. key .. '}'
  doomed_keys[k + 3] = cart
  k = k + 3
  cart_keys[i] = cart
end

local deleted = 0
for i = 1, k, SLICE do
  deleted = deleted + call('DEL', unpack(doomed_keys, i, math.min(i + SLICE - 1, k)))
end
for i = 1, d, SLICE do
  local upto = math.min(i + SLICE - 1, d)
  call('ZREM', KEYS[1], unpack(doomed, i, upto))
  call('ZREM', KEYS[3], unpack(cart_keys, i, upto))
  call('HDEL', KEYS[2], unpack(doomed, i, upto))
end
for i = 1, d do
  local uid = uids[i]
  if uid ~= '' then
    user_sessions_remove(us_head .. uid .. us_tail, doomed[i])
  end
end
if report then
  return {table.concat(flags), uids, carts, deleted}
end
return {table.concat(flags), {}, {}, deleted}
