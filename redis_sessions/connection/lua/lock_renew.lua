-- Extend a loop lock, but only if we still hold it.
-- KEYS: 1 lock; ARGV: 1 our token, 2 milliseconds
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
