-- Shared by the session scripts (Script(..., uses=["user_sessions"]) puts it first).
-- user-sessions:{UID} is a zset (score: the second a session was added; a small zset
-- is a listpack, where Redis 7.0 keeps a small set of strings as a hashtable). A set
-- written by earlier code is removed from as it is, and becomes a zset when a session
-- is added to it. The zset command is tried first and the set handled only when it
-- fails (WRONGTYPE): a TYPE before each was 14% of the cleaner's script time.
local function user_sessions_add(key, member, now)
  if type(redis.pcall('ZADD', key, now, member)) == 'table' then
    local members = redis.call('SMEMBERS', key)
    redis.call('DEL', key)
    for i = 1, #members do redis.call('ZADD', key, now, members[i]) end
    redis.call('ZADD', key, now, member)
  end
end
local function user_sessions_remove(key, member)
  if type(redis.pcall('ZREM', key, member)) == 'table' then
    redis.call('SREM', key, member)
  end
end
