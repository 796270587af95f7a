-- One item's text and lifetime on a Redis Cluster (newswatch/store/redis_cluster.py: _write_items), as commit.lua
-- writes them on one server.  KEYS[1]: the item's hash.  ARGV: fingerprint, longest length, ttl (ms), new (0 or
-- 1: forget what an expired item of the same id left behind), texts kept.
local ik = KEYS[1]
want(ik, 'hash')
local len, ttl, kept = number(ARGV[2], 'len'), positive(ARGV[3], 'item ttl'), positive(ARGV[5], 'kept')
if ARGV[4] == '1' then redis.call('DEL', ik) end
add_text(ik, ARGV[1], len, kept)
redis.call('PEXPIRE', ik, ttl)
return 1
