-- The decision to send one entry.  KEYS[1] grant counter, KEYS[2] lease, KEYS[3] queue; ARGV: holder, epoch,
-- ttl ms, entry id.  Returns -1 when the grant no longer holds, 0 when the entry left the queue, else 1 (the
-- lease renewed for ttl).
want(KEYS[2], 'string')
want(KEYS[3], 'zset')
positive(ARGV[3], 'ttl')
if not fence_holds() then return -1 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
if redis.call('ZSCORE', KEYS[3], ARGV[4]) then return 1 end
return 0
