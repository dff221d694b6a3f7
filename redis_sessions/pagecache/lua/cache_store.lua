-- Store a rendered page or fragment and release our render lock, atomically.
-- KEYS: 1 entry, 2 render lock, 3.. (optional) sets that name the entry: an item's
--       item-pages:{ITEM} (capped), a model's fragments (not capped)
-- ARGV: 1 fresh-until time, 2 meta, 3 body, 4 lifetime ms (fresh + grace),
--       5 our lock token ('' = we hold none), 6 member for the sets,
--       7 most members of KEYS[3] (0 = no cap), 8 head of the entries' keys (for the cap)
-- Returns 1, or 0 when KEYS[3] is full: a new member is stored only while the set
-- names fewer than ARGV[7] entries that still exist (entries gone are forgotten
-- first), so no request can grow it past the cap.
local function release()
  if ARGV[5] ~= '' and redis.call('GET', KEYS[2]) == ARGV[5] then
    redis.call('DEL', KEYS[2])
  end
end

local cap = tonumber(ARGV[7]) or 0
if KEYS[3] and cap > 0 and redis.call('SISMEMBER', KEYS[3], ARGV[6]) == 0
    and redis.call('SCARD', KEYS[3]) >= cap then
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if redis.call('EXISTS', ARGV[8] .. member) == 0 then
      redis.call('SREM', KEYS[3], member)
    end
  end
  if redis.call('SCARD', KEYS[3]) >= cap then
    release()
    return 0
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'fresh', ARGV[1], 'meta', ARGV[2], 'body', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
for i = 3, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[6])
  -- only ever lengthen: the set must outlive the longest-lived entry it names
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[4]) then
    redis.call('PEXPIRE', KEYS[i], ARGV[4])
  end
end
release()
return 1
