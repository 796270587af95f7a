-- Queue entries on one channel's queue.  KEYS: queue, delivered set, the n entries' hashes; ARGV: the n entry
-- ids, then their data.  An entry already queued, or delivered lately, is left alone: queueing can be repeated
-- safely (a Redis Cluster queues a committed claim's entries in a second step, see redis_cluster.py).
-- Returns the number queued.
local n = #ARGV / 2
want(KEYS[1], 'zset')
want(KEYS[2], 'zset')
for i = 1, n do want(KEYS[2 + i], 'hash'); number(ARGV[i], 'entry id') end
local queued = 0
for i = 1, n do
  local id = ARGV[i]
  if not redis.call('ZSCORE', KEYS[2], id) and redis.call('EXISTS', KEYS[2 + i]) == 0 then
    redis.call('HSET', KEYS[2 + i], 'data', ARGV[n + i], 'attempts', 0, 'not_before', 0)
    redis.call('ZADD', KEYS[1], id, id)
    queued = queued + 1
  end
end
return queued
