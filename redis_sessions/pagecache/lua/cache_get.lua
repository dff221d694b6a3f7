-- Look up a cached page or fragment, with the popularity rule, the stampede lock and
-- (for pages) the view count, in one round trip.
-- KEYS: 1 entry (hash: fresh, meta, body), 2 render lock, 3 viewed:,
--       pages only: 4 views:{DAY}, 5 visitors:{DAY}:{ITEM}, 6 seen:{CLIENT}:ITEM,
--       with a session: 7 session data, 8 viewed:{KEY}, 9 cart:{KEY}, 10 seen:{KEY}:ITEM
-- ARGV: 1 item ('' = none), 2 top N (0 = no rank rule), 3 now, 4 lock ms (0 = peek),
--       5 lock token, 6 count the view (1/0), 7 visitor ('' = none),
--       8 analytics ttl seconds, 9 per-session viewed limit, 10 session key ('' = none),
--       11 bypass on a non-empty cart (1/0), 12 VIEW_WINDOW seconds (0 = count every
--       view)
-- Returns {state}, one of 'bypass' (non-empty cart), 'cold' (item not popular
--   enough), 'hit', 'stale' (served while another worker renders), 'render' (we hold
--   the lock), 'wait', 'miss' (a peek found no fresh copy: it takes no lock and
--   serves nothing stale). The copy itself is not returned: an HMGET of meta and body
--   follows in the same round trip (a 10 kB page costs Redis twice as much when it
--   passes through Lua as when it is read by HMGET).
-- With ARGV[6] = 1 the view is counted whatever the state: the request is a view of
-- the item, served from the copy or rendered (cache_request counts it, so a view that
-- never calls record_view still makes its item popular); its popularity counts
-- (viewed:, views:{DAY}) once per visitor, item and window, as view_count.lua.
local item, session = ARGV[1], ARGV[10]

local function count()
  if ARGV[6] ~= '1' or item == '' then
    return
  end
  local ttl, window = tonumber(ARGV[8]), tonumber(ARGV[12])
  local left = session ~= '' and redis.call('PTTL', KEYS[7]) or -2
  -- the visitor is the session when Redis holds it (not a made-up cookie), else the
  -- client; its first view of the item in the window is the one counted
  local seen = left > 0 and KEYS[10] or KEYS[6]
  if window == 0 or redis.call('SET', seen, 1, 'EX', window, 'NX') then
    redis.call('ZINCRBY', KEYS[3], -1, item)
    -- a day's keys get their TTL when they are created (a first count of 1, or PFADD
    -- answering 1 for a new key), not on every hit
    if tonumber(redis.call('ZINCRBY', KEYS[4], 1, item)) == 1 then
      redis.call('EXPIRE', KEYS[4], ttl)
    end
  end
  if ARGV[7] ~= '' and redis.call('PFADD', KEYS[5], ARGV[7]) == 1 then
    redis.call('EXPIRE', KEYS[5], ttl)
  end
  if left > 0 then
    -- as session_viewed.lua: only for a live session, never outliving it
    redis.call('ZADD', KEYS[8], ARGV[3], item)
    redis.call('ZREMRANGEBYRANK', KEYS[8], 0, -(tonumber(ARGV[9]) + 1))
    redis.call('PEXPIRE', KEYS[8], left)
  end
end

if session ~= '' and ARGV[11] == '1' and redis.call('EXISTS', KEYS[9]) == 1 then
  count()
  return {'bypass'}
end
local top = tonumber(ARGV[2])
if top > 0 then
  -- ranked before this view is counted: a view never lets its own page in
  local rank = redis.call('ZRANK', KEYS[3], item)
  if not rank or rank >= top then
    count()
    return {'cold'}
  end
end
count()

local fresh = tonumber(redis.call('HGET', KEYS[1], 'fresh'))
if fresh and fresh > tonumber(ARGV[3]) then
  return {'hit'}
end
if ARGV[4] == '0' then
  return {'miss'}
end
if redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4], 'NX') then
  return {'render'}
end
if fresh then
  return {'stale'}
end
return {'wait'}
