-- KEYS[1] queue, KEYS[2] targets set, KEYS[3] parked list. ARGV: target, entry prefix, reason, parked at, ids…
for i = 5, #ARGV do
  local data = redis.call('HGET', ARGV[2] .. ARGV[i], 'data')
  if data then
    local row = {id = ARGV[i], data = data, reason = ARGV[3], parked_at = tonumber(ARGV[4])}
    redis.call('RPUSH', KEYS[3], cjson.encode(row))
  end
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('DEL', ARGV[2] .. ARGV[i])
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
return 1
