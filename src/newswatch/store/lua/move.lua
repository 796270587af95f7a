-- KEYS[1] queue moved from, KEYS[2] queue moved to, KEYS[3] targets set. ARGV: from target, to target, ids…
-- An entry keeps its sequence number (its score), so it keeps its place in the order of its new queue.
local moved = 0
for i = 3, #ARGV do
  local seq = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if seq then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('ZADD', KEYS[2], seq, ARGV[i])
    moved = moved + 1
  end
end
if moved > 0 then redis.call('SADD', KEYS[3], ARGV[2]) end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[1]) end
return moved
