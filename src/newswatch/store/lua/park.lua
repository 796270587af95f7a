-- Move entries that can never be delivered aside.  KEYS: grant counter, lease, queue, parked list, the n
-- entries' hashes; ARGV: holder, epoch, reason, parked at, the n entry ids.  Only entries still queued are
-- parked.  Returns -1 (the grant no longer holds) or the number parked.
local n = #ARGV - 4
want(KEYS[3], 'zset')
want(KEYS[4], 'list')
for i = 1, n do want(KEYS[4 + i], 'hash') end
local at = number(ARGV[4], 'parked at')
if not fence_holds() then return -1 end
local parked = 0
for i = 1, n do
  local data = redis.call('HGET', KEYS[4 + i], 'data')
  if redis.call('ZREM', KEYS[3], ARGV[4 + i]) == 1 then
    if data then
      redis.call('RPUSH', KEYS[4], cjson.encode({id = ARGV[4 + i], data = data, reason = ARGV[3], parked_at = at}))
      parked = parked + 1
    end
    redis.call('DEL', KEYS[4 + i])
  end
end
return parked
