-- record_view's popularity counts, once per visitor, item and VIEW_WINDOW: the view
-- counts in viewed: and views:{DAY} only when the visitor's seen key for the item is
-- new (SET NX EX window). The visitor is the session when Redis holds it (a made-up
-- or expired session cookie is no visitor), else the client.
-- KEYS: 1 viewed:, 2 views:{DAY}, 3 seen:{CLIENT}:ITEM (or, without a client, the
--       session's), with a session to prefer: 4 session data, 5 seen:{KEY}:ITEM
-- ARGV: 1 item, 2 window seconds, 3 analytics ttl seconds
-- Returns 1 when the view counted, 0 when this visitor's view of the item had counted.
local seen = KEYS[3]
if #KEYS > 3 and redis.call('EXISTS', KEYS[4]) == 1 then
  seen = KEYS[5]
end
if not redis.call('SET', seen, 1, 'EX', ARGV[2], 'NX') then
  return 0
end
redis.call('ZINCRBY', KEYS[1], -1, ARGV[1])
redis.call('ZINCRBY', KEYS[2], 1, ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
