-- Delivered.  KEYS: grant counter, lease, queue, targets set, the n entries' hashes, then the thread key when
-- ARGV[4] is not ''.  ARGV: holder, epoch, target, thread state, thread ttl ms, the n entry ids.
-- Returns -1 (the grant no longer holds: nothing written) or the number of entries that were still queued.
-- The thread state is written only when one was: never over what another worker wrote for an entry it acked.
local n = #ARGV - 5
want(KEYS[3], 'zset')
want(KEYS[4], 'set')
for i = 1, n do want(KEYS[4 + i], 'hash') end
if ARGV[4] ~= '' then want(KEYS[5 + n], 'string'); positive(ARGV[5], 'thread ttl') end
if not fence_holds() then return -1 end
local acked = 0
for i = 1, n do
  if redis.call('ZREM', KEYS[3], ARGV[5 + i]) == 1 then
    redis.call('DEL', KEYS[4 + i])
    acked = acked + 1
  end
end
if redis.call('ZCARD', KEYS[3]) == 0 then redis.call('SREM', KEYS[4], ARGV[3]) end
if ARGV[4] ~= '' and acked > 0 then redis.call('SET', KEYS[5 + n], ARGV[4], 'PX', ARGV[5]) end
return acked
