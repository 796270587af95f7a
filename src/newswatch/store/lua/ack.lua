-- KEYS[1] queue, KEYS[2] targets set. ARGV: target, entry prefix, thread key, thread ts, thread ttl ms, ids…
for i = 6, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('DEL', ARGV[2] .. ARGV[i])
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
if ARGV[3] ~= '' then redis.call('SET', ARGV[3], ARGV[4], 'PX', ARGV[5]) end
return 1
