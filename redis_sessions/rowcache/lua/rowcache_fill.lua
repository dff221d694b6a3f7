-- Store row documents, each only if its version is still the one the reader saw
-- before it read the database (a write since then bumped it: the document may be
-- older than the write, and the writer already dropped the entry).
-- KEYS: pairs of (entry, version) keys
-- ARGV: 1 entry TTL in seconds, then per row: expected version ('' = none), document
-- Returns 1/0 per row (stored or refused).
local out = {}
for i = 1, #KEYS, 2 do
  local j = i + 1  -- ARGV index of this row's expected version
  if (redis.call('GET', KEYS[i + 1]) or '') == ARGV[j] then
    redis.call('SET', KEYS[i], ARGV[j + 1], 'EX', ARGV[1])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
