-- KEYS: grant counter, lease, queue moved from, queue moved to (the same channel's). ARGV: holder, epoch, ids…
-- An entry keeps its sequence number (its score), so it keeps its place in the order of its new queue.
-- Returns -1 (the grant no longer holds) or the number moved.
want(KEYS[3], 'zset')
want(KEYS[4], 'zset')
if not fence_holds() then return -1 end
local moved = 0
for i = 3, #ARGV do
  local seq = redis.call('ZSCORE', KEYS[3], ARGV[i])
  if seq then
    redis.call('ZREM', KEYS[3], ARGV[i])
    redis.call('ZADD', KEYS[4], seq, ARGV[i])
    moved = moved + 1
  end
end
return moved
