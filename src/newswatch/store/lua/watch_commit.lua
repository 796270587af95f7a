-- Apply one watch's part of a batch plan on a Redis Cluster, if the watch's version is still the one read.
-- KEYS[1] the watch's version, KEYS[2] its staged outbox entries (a hash: id -> {target, data}), then the keys
-- ARGV[1] names by index.  ARGV[1]: JSON {expect, places: [{rec, sid, data, ttl, bands: [i], unpost: [i],
-- post: [i], latest, trim}], claims: [{alerted, story, ttl, entries: [{id, target, data}]}]}.
-- Returns 'conflict' (nothing written) or 'ok'.  The staged entries are queued on their channels next, in
-- calls that can be repeated (redis_cluster.py): a crash in between leaves them staged, never lost.
local a = cjson.decode(ARGV[1])
counter(KEYS[1])
want(KEYS[2], 'hash')
if tonumber(redis.call('GET', KEYS[1]) or '0') ~= a.expect then return 'conflict' end
for _, p in ipairs(a.places) do
  positive(p.ttl, 'story ttl'); number(p.latest, 'latest'); number(p.trim, 'trim')
  if type(p.data) ~= 'string' or type(p.sid) ~= 'string' then error({err = 'newswatch: bad story record; nothing was written'}) end
  for _, i in ipairs(p.unpost) do want(KEYS[i], 'zset') end
  for _, i in ipairs(p.post) do want(KEYS[i], 'zset') end
end
for _, c in ipairs(a.claims) do
  positive(c.ttl, 'claim ttl')
  for _, e in ipairs(c.entries) do
    number(e.id, 'entry id')
    if type(e.target) ~= 'string' or type(e.data) ~= 'string' then error({err = 'newswatch: bad entry; nothing was written'}) end
  end
end

for _, p in ipairs(a.places) do
  redis.call('SET', KEYS[p.rec], p.data, 'PX', p.ttl)
  for _, i in ipairs(p.bands) do redis.call('SET', KEYS[i], p.sid, 'PX', p.ttl) end
  for _, i in ipairs(p.unpost) do redis.call('ZREM', KEYS[i], p.sid) end
  for _, i in ipairs(p.post) do
    redis.call('ZADD', KEYS[i], p.latest, p.sid)
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. p.trim)
    redis.call('PEXPIRE', KEYS[i], p.ttl)
  end
end
for _, c in ipairs(a.claims) do
  redis.call('SET', KEYS[c.alerted], c.story, 'PX', c.ttl)
  for _, e in ipairs(c.entries) do
    redis.call('HSET', KEYS[2], e.id, cjson.encode({target = e.target, data = e.data}))
  end
end
redis.call('INCR', KEYS[1])
return 'ok'
