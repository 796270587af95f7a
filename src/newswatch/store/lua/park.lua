-- Move entries that can never be delivered aside.  KEYS: grant counter, lease, queue, targets set, parked list,
-- the n entries' hashes; ARGV: holder, epoch, target, reason, parked at, the n entry ids.  Only entries still
-- queued are parked.  Returns -1 (the grant no longer holds) or the number parked.
local n = #ARGV - 5
want(KEYS[3], 'zset')
want(KEYS[4], 'set')
want(KEYS[5], 'list')
for i = 1, n do want(KEYS[5 + i], 'hash') end
local at = number(ARGV[5], 'parked at')
if not fence_holds() then return -1 end
local parked = 0
for i = 1, n do
  local data = redis.call('HGET', KEYS[5 + i], 'data')
  if redis.call('ZREM', KEYS[3], ARGV[5 + i]) == 1 then
    if data then
      redis.call('RPUSH', KEYS[5], cjson.encode({id = ARGV[5 + i], data = data, reason = ARGV[4], parked_at = at}))
      parked = parked + 1
    end
    redis.call('DEL', KEYS[5 + i])
  end
end
if redis.call('ZCARD', KEYS[3]) == 0 then redis.call('SREM', KEYS[4], ARGV[3]) end
return parked
