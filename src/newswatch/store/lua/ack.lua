-- Delivered.  KEYS: grant counter, lease, queue, delivered set, the n entries' hashes, then the thread key when
-- ARGV[3] is not ''.  ARGV: holder, epoch, thread state, thread ttl ms, how long a delivered id is remembered
-- (ms; '0': not remembered), now (ms), the n entry ids.
-- Returns -1 (the grant no longer holds: nothing written) or the number of entries that were still queued.
-- The thread state is written only when one was: never over what another worker wrote for an entry it acked.
local n = #ARGV - 6
want(KEYS[3], 'zset')
want(KEYS[4], 'zset')
for i = 1, n do want(KEYS[4 + i], 'hash') end
if ARGV[3] ~= '' then want(KEYS[5 + n], 'string'); positive(ARGV[4], 'thread ttl') end
local remember = number(ARGV[5], 'remember')
local now = number(ARGV[6], 'now')
if not fence_holds() then return -1 end
local acked = 0
for i = 1, n do
  if redis.call('ZREM', KEYS[3], ARGV[6 + i]) == 1 then
    redis.call('DEL', KEYS[4 + i])
    if remember > 0 then redis.call('ZADD', KEYS[4], now, ARGV[6 + i]) end
    acked = acked + 1
  end
end
if remember > 0 and acked > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. (now - remember)) end
if ARGV[3] ~= '' and acked > 0 then redis.call('SET', KEYS[5 + n], ARGV[3], 'PX', ARGV[4]) end
return acked
