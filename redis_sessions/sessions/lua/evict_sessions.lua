-- Shared by session_evict.lua and session_evict_oldest.lua (put before them, after
-- user_sessions.lua). evict_sessions(doomed, d, login, carts, heads, report) removes
-- every trace of the d sessions in doomed but their recent: entry, which each caller
-- removes its own way: data, viewed:{KEY}, the anonymous cart:{KEY} and its carts:
-- entry, the login: and user-sessions:{UID} entries. The user's own cart stays.
-- heads: {data, viewed, cart, user-sessions head, user-sessions tail}, the first three
-- with the '{' of the hash tag (a key is head .. session key .. '}').
-- Returns the user ids ('' when anonymous), the carts (HGETALL each, in order, only
-- when report: a receiver is connected) and the number of keys deleted.
-- Keys are built here from the heads: a batch spans many hash tags, so these scripts
-- are for a single server (their Cluster splits run the same steps per slot).

-- unpack() is limited by the Lua C stack (~8000): big lists go in slices.
local SLICE = 1000
-- These loops are the cleaner's whole cost in Redis: measured per evicted session,
-- the Lua around the commands (arguments and replies converted, tables, strings)
-- is a third of it, so they stay lean (a local call, no closures).
local call = redis.call

local function evict_sessions(doomed, d, login, carts_index, heads, report)
  local data_head, viewed_head, cart_head = heads[1], heads[2], heads[3]
  -- user ids before the login: entries go (one HMGET per slice, not one call a session)
  local uids = {}
  for i = 1, d, SLICE do
    local part = call('HMGET', login, unpack(doomed, i, math.min(i + SLICE - 1, d)))
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
    call('ZREM', carts_index, unpack(cart_keys, i, upto))
    call('HDEL', login, unpack(doomed, i, upto))
  end
  local us_head, us_tail = heads[4], heads[5]
  for i = 1, d do
    local uid = uids[i]
    if uid ~= '' then
      user_sessions_remove(us_head .. uid .. us_tail, doomed[i])
    end
  end
  return uids, carts, deleted
end
