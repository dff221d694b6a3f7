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
-- ARGV: 1 mode, 2 '1' to return the carts' contents, 3 data head, 4 viewed head,
--       5 cart head, 6/7 head and tail of a user-sessions key, 8 n, then n session
--       keys, then (mode 'limit') their n scores seen at pick time
--       (keys first, so that ZMSCORE takes them straight from ARGV)
-- Returns {evicted keys, their user ids ('' when anonymous),
--          carts (HGETALL of each, in the same order; empty unless asked),
--          number of keys deleted}
local mode, want_carts = ARGV[1], ARGV[2] == '1'
local data_head, viewed_head, cart_head = ARGV[3], ARGV[4], ARGV[5]
local us_head, us_tail = ARGV[6], ARGV[7]
-- unpack() is limited by the Lua C stack (~8000): send big lists in slices.
local SLICE = 1000

local function sliced(command, key, list)
  for i = 1, #list, SLICE do
    redis.call(command, key, unpack(list, i, math.min(i + SLICE - 1, #list)))
  end
end

local n, first = tonumber(ARGV[8]), 9
local last = first + n - 1
local doomed = {}
if mode == 'limit' then
  -- ZMSCORE answers nil (false) for a member that is gone: deleted meanwhile, skip it.
  for i = first, last, SLICE do
    local upto = math.min(i + SLICE - 1, last)
    local now = redis.call('ZMSCORE', KEYS[1], unpack(ARGV, i, upto))
    for j = i, upto do
      local score = now[j - i + 1]
      if score and tonumber(score) == tonumber(ARGV[j + n]) then
        doomed[#doomed + 1] = ARGV[j]
      end
    end
  end
else
  for j = first, last do
    if redis.call('EXISTS', data_head .. '{' .. ARGV[j] .. '}') == 0 then
      doomed[#doomed + 1] = ARGV[j]
    end
  end
end
if #doomed == 0 then
  return {{}, {}, {}, 0}
end

local uids = {}
for i = 1, #doomed, SLICE do
  local part = redis.call('HMGET', KEYS[3], unpack(doomed, i, math.min(i + SLICE - 1, #doomed)))
  for j = 1, math.min(SLICE, #doomed - i + 1) do uids[i + j - 1] = part[j] or '' end
end

local carts, doomed_keys, cart_keys = {}, {}, {}
for i, key in ipairs(doomed) do
  local tag = '{' .. key .. '}'
  local cart = cart_head .. tag
  if want_carts then
    carts[i] = redis.call('HGETALL', cart)
  end
  doomed_keys[#doomed_keys + 1] = data_head .. tag
  doomed_keys[#doomed_keys + 1] = viewed_head .. tag
  doomed_keys[#doomed_keys + 1] = cart
  cart_keys[#cart_keys + 1] = cart
end

local deleted = 0
for i = 1, #doomed_keys, SLICE do
  deleted = deleted + redis.call('DEL', unpack(doomed_keys, i, math.min(i + SLICE - 1, #doomed_keys)))
end
sliced('ZREM', KEYS[1], doomed)
sliced('ZREM', KEYS[2], doomed)
sliced('ZREM', KEYS[4], cart_keys)
sliced('HDEL', KEYS[3], doomed)
for i, key in ipairs(doomed) do
  if uids[i] ~= '' then
    redis.call('SREM', us_head .. uids[i] .. us_tail, key)
  end
end
return {doomed, uids, carts, deleted}
