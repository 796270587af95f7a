-- Parked records back into their queues, each at its old place (its sequence number), attempts reset.
-- KEYS: the parked list, then per record its queue, its entry's hash and its channel's delivered set; ARGV: per
-- record the parked row as read (LRANGE), then per record its id.  All keys are one channel's on a Redis Cluster
-- (redis_keys.py).  A row no longer in the list (unparked or purged meanwhile) is left alone; one delivered
-- lately (a cluster's delivered set) only leaves the list.  Returns the number queued again.
local n = #ARGV / 2
want(KEYS[1], 'list')
local data = {}
for i = 1, n do
  want(KEYS[3 * i - 1], 'zset')
  want(KEYS[3 * i], 'hash')
  want(KEYS[3 * i + 1], 'zset')
  number(ARGV[n + i], 'entry id')
  local ok, row = pcall(cjson.decode, ARGV[i])
  if not ok or type(row) ~= 'table' or type(row.data) ~= 'string' then
    error({err = 'newswatch: parked row ' .. ARGV[n + i] .. ' is unreadable; nothing was written'})
  end
  data[i] = row.data
end
local queued = 0
for i = 1, n do
  local raw, id = ARGV[i], ARGV[n + i]
  if redis.call('LREM', KEYS[1], 1, raw) == 1 and not redis.call('ZSCORE', KEYS[3 * i + 1], id) then
    redis.call('HSET', KEYS[3 * i], 'data', data[i], 'attempts', 0, 'not_before', 0)
    redis.call('ZADD', KEYS[3 * i - 1], id, id)
    queued = queued + 1
  end
end
return queued
