-- Store a rendered page or fragment and release our render lock, atomically.
-- KEYS: 1 entry, 2 render lock, 3 (pages of an item only) item-pages:{ITEM}
-- ARGV: 1 fresh-until time, 2 meta, 3 body, 4 lifetime ms (fresh + grace),
--       5 our lock token ('' = we hold none), 6 member for the item's set
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'fresh', ARGV[1], 'meta', ARGV[2], 'body', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if KEYS[3] then
  redis.call('SADD', KEYS[3], ARGV[6])
  -- only ever lengthen: the set must outlive the longest-lived page it names
  if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[4]) then
    redis.call('PEXPIRE', KEYS[3], ARGV[4])
  end
end
if ARGV[5] ~= '' and redis.call('GET', KEYS[2]) == ARGV[5] then
  redis.call('DEL', KEYS[2])
end
return 1
