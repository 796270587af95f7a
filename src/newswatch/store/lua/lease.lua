-- Take (ARGV[2] '0') or renew (ARGV[2] the grant's epoch) a fenced lease.  KEYS[1] grant counter, KEYS[2] lease;
-- ARGV: holder, epoch, ttl ms.  Returns the epoch held, 0 when another holder has the lease or the grant to
-- renew was followed by another (a lapsed lease is never handed back as if it had been held all along).
counter(KEYS[1])
want(KEYS[2], 'string')
positive(ARGV[3], 'ttl')
local h = redis.call('GET', KEYS[2])
if ARGV[2] ~= '0' then
  if redis.call('GET', KEYS[1]) ~= ARGV[2] or (h and h ~= ARGV[1]) then return 0 end
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  return tonumber(ARGV[2])
end
if h and h ~= ARGV[1] then return 0 end
local epoch = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
return epoch
