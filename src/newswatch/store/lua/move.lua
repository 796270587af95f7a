-- KEYS: grant counter, lease, queue moved from, queue moved to, targets set. ARGV: holder, epoch, from target,
-- to target, ids…  An entry keeps its sequence number (its score), so it keeps its place in the order of its
-- new queue.  Returns -1 (the grant no longer holds) or the number moved.
want(KEYS[3], 'zset')
want(KEYS[4], 'zset')
want(KEYS[5], 'set')
if not fence_holds() then return -1 end
local moved = 0
for i = 5, #ARGV do
  local seq = redis.call('ZSCORE', KEYS[3], ARGV[i])
  if seq then
    redis.call('ZREM', KEYS[3], ARGV[i])
    redis.call('ZADD', KEYS[4], seq, ARGV[i])
    moved = moved + 1
  end
end
if moved > 0 then redis.call('SADD', KEYS[5], ARGV[4]) end
if redis.call('ZCARD', KEYS[3]) == 0 then redis.call('SREM', KEYS[5], ARGV[3]) end
return moved
