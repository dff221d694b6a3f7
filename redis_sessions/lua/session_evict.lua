-- Evict a batch of picked sessions, every trace of each, atomically (clean_sessions).
-- A picked session goes only if it is still what the cleaner saw when it picked it:
--   mode 'limit':   its recent: score is unchanged (a request after the pick saves it);
--   mode 'expired': its data key is gone (Redis expired it by TTL; a live session
--                   stays, whatever its expires: score says).
-- For each evicted session: data, viewed:{KEY}, anonymous cart:{KEY} and its carts:
-- entry, recent:, expires:, login: and user-sessions:{UID} entries (the set that
-- session_delete.lua removes for one session). The user's own cart is not touched.
-- Keys are built here from heads passed in ARGV, as in session_forget: a batch spans
-- many hash tags, so this script is for a single server, not a cluster.
-- KEYS: 1 recent:, 2 expires:, 3 login:, 4 carts:
-- ARGV: 1 mode, 2 '1' to report the evicted sessions' user ids and carts (a receiver
--       is connected), 3 data head, 4 viewed head, 5 cart head, 6/7 head and tail of
--       a user-sessions key, 8 n, then n session keys, then (mode 'limit') their n
--       scores seen at pick time (keys first, so that ZMSCORE takes them from ARGV)
-- Returns {flags: one byte per picked session, in pick order, '1' evicted, '0' kept,
--          user ids of the evicted ('' when anonymous), carts (HGETALL of each, in
--          the same order), number of keys deleted}; ids and carts are empty unless
--          asked: the caller knows the keys it picked, and the flags say which went.
local mode, report = ARGV[1], ARGV[2] == '1'
local data_head, viewed_head, cart_head = ARGV[3], ARGV[4], ARGV[5]
local us_head, us_tail = ARGV[6], ARGV[7]
-- unpack() is limited by the Lua C stack (~8000): send big lists in slices.
local SLICE = 1000

local function sliced(command, key, list, count)
  for i = 1, count, SLICE do
    redis.call(command, key, unpack(list, i, math.min(i + SLICE - 1, count)))
  end
end

local n, first = tonumber(ARGV[8]), 9
local last = first + n - 1
local doomed, flags, d = {}, {}, 0
-- Record whether the j-th picked session still qualifies for eviction.
local function judge(j, qualifies)
  if qualifies then
    d = d + 1
    doomed[d] = ARGV[j]
    flags[j - first + 1] = '1'
  else
    flags[j - first + 1] = '0'
  end
end
if mode == 'limit' then
  -- ZMSCORE answers nil (false) for a member that is gone: deleted meanwhile, skip it.
  for i = first, last, SLICE do
    local upto = math.min(i + SLICE - 1, last)
    local now = redis.call('ZMSCORE', KEYS[1], unpack(ARGV, i, upto))
    for j = i, upto do
      local score = now[j - i + 1]
      judge(j, score and tonumber(score) == tonumber(ARGV[j + n]))
    end
  end
else
  for j = first, last do
    judge(j, redis.call('EXISTS', data_head .. '{' .. ARGV[j] .. '}') == 0)
  end
end
if d == 0 then
  return {table.concat(flags), {}, {}, 0}
end

-- user ids before the login: entries go (one HMGET per slice, not one call a session)
local uids = {}
for i = 1, d, SLICE do
  local part = redis.call('HMGET', KEYS[3], unpack(doomed, i, math.min(i + SLICE - 1, d)))
  for j = 1, #part do uids[i + j - 1] = part[j] or '' end
end

local carts, doomed_keys, cart_keys = {}, {}, {}
for i = 1, d do
  local key = doomed[i]
  local cart = cart_head .. '{' .. key .. '}'
  if report then
    carts[i] = redis.call('HGETALL', cart)
  end
  doomed_keys[3 * i - 2] = data_head .. '{' .. key .. '}'
  doomed_keys[3 * i - 1] = viewed_head .. '{' .. key .. '}'
  doomed_keys[3 * i] = cart
  cart_keys[i] = cart
end

local deleted = 0
for i = 1, 3 * d, SLICE do
  deleted = deleted + redis.call('DEL', unpack(doomed_keys, i, math.min(i + SLICE - 1, 3 * d)))
end
sliced('ZREM', KEYS[1], doomed, d)
sliced('ZREM', KEYS[2], doomed, d)
sliced('ZREM', KEYS[4], cart_keys, d)
sliced('HDEL', KEYS[3], doomed, d)
for i = 1, d do
  local uid = uids[i]
  if uid ~= '' then
    redis.call('SREM', us_head .. uid .. us_tail, doomed[i])
  end
end
if report then
  return {table.concat(flags), uids, carts, deleted}
end
return {table.concat(flags), {}, {}, deleted}
