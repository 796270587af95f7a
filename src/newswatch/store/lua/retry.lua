-- A failed attempt.  KEYS: grant counter, lease, queue, entry hash; ARGV: holder, epoch, entry id, attempts,
-- not before.  An entry no longer queued is left alone: an acknowledged entry is never re-created.
-- Returns -1 (the grant no longer holds), 0 (not queued) or 1.
want(KEYS[3], 'zset')
want(KEYS[4], 'hash')
number(ARGV[4], 'attempts')
number(ARGV[5], 'not_before')
if not fence_holds() then return -1 end
if not redis.call('ZSCORE', KEYS[3], ARGV[3]) or redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
redis.call('HSET', KEYS[4], 'attempts', ARGV[4], 'not_before', ARGV[5])
return 1
