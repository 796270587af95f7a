-- Apply a batch plan (see newswatch/store/batch.py: BatchPlan) if nothing it was decided on has changed.
-- ARGV[1]: JSON {item_prefix, seq_key, entry_prefix, queue_prefix, targets_key, kept (texts per item),
--   expect: {items: [{keys, ids, fp, fp_known, len}], vers: [[watch prefix, n]]},
--   items: [{id, keys, fp, len, new, ttl}],
--   places: [{prefix, sid, rec, ttl, bands, unpost, post, latest, trim}],
--   claims: [{prefix, item, story, ttl, entries: [{target, data}]}]}
-- Returns JSON {conflict = "item" | "watch"} and writes nothing, or {entries: [[id, ...] per claim]}.
-- Every key's type and every argument is checked before the first write (guard.lua): a script error leaves
-- nothing behind, so the batch can be recorded whole once the cause is repaired.
local a = cjson.decode(ARGV[1])

local function str(v, what)
  if type(v) ~= 'string' then error({err = 'newswatch: ' .. what .. ' is not a string; nothing was written'}) end
  return v
end
local function list(v, what)
  if type(v) ~= 'table' then error({err = 'newswatch: ' .. what .. ' is not a list; nothing was written'}) end
  return v
end

-- Optimistic concurrency: the items' state and each claimed watch's version are as they were read.
for _, e in ipairs(list(a.expect.items, 'expect.items')) do
  local id = nil
  for j, k in ipairs(list(e.keys, 'keys')) do
    want(k, 'string')
    local v = redis.call('GET', k)
    if (v or false) ~= e.ids[j] then return cjson.encode({conflict = 'item'}) end
    if v and not id then id = v end
  end
  if id then
    local ik = a.item_prefix .. id
    want(ik, 'hash')
    local fp = redis.call('HEXISTS', ik, 'fp:' .. str(e.fp, 'fp')) == 1
    local len = tonumber(redis.call('HGET', ik, 'len') or '0')
    if fp ~= e.fp_known or len ~= e.len then return cjson.encode({conflict = 'item'}) end
  end
end
for _, v in ipairs(list(a.expect.vers, 'expect.vers')) do
  counter(v[1] .. 'ver')
  if tonumber(redis.call('GET', v[1] .. 'ver') or '0') ~= v[2] then return cjson.encode({conflict = 'watch'}) end
end

-- Every key written and every argument, checked before the first write.
str(a.item_prefix, 'item_prefix'); str(a.entry_prefix, 'entry_prefix'); str(a.queue_prefix, 'queue_prefix')
positive(a.kept, 'kept')
counter(str(a.seq_key, 'seq_key'))
want(str(a.targets_key, 'targets_key'), 'set')
for _, it in ipairs(list(a.items, 'items')) do
  for _, k in ipairs(list(it.keys, 'item keys')) do str(k, 'item key') end
  str(it.id, 'item id'); str(it.fp, 'fp'); number(it.len, 'len'); positive(it.ttl, 'item ttl')
  if not it.new then want(a.item_prefix .. it.id, 'hash') end
end
for _, p in ipairs(list(a.places, 'places')) do
  str(p.prefix, 'prefix'); str(p.sid, 'story id'); str(p.rec, 'story record'); positive(p.ttl, 'story ttl')
  number(p.latest, 'latest'); number(p.trim, 'trim')
  for _, b in ipairs(list(p.bands, 'bands')) do str(b, 'band') end
  for _, t in ipairs(list(p.unpost, 'unpost')) do want(p.prefix .. 'term:' .. str(t, 'term'), 'zset') end
  for _, t in ipairs(list(p.post, 'post')) do want(p.prefix .. 'term:' .. str(t, 'term'), 'zset') end
end
local next_seq = tonumber(redis.call('GET', a.seq_key) or '0')
for _, c in ipairs(list(a.claims, 'claims')) do
  str(c.prefix, 'prefix'); str(c.item, 'item'); str(c.story, 'story'); positive(c.ttl, 'claim ttl')
  counter(c.prefix .. 'ver')
  for _, e in ipairs(list(c.entries, 'entries')) do
    next_seq = next_seq + 1
    want(a.entry_prefix .. next_seq, 'hash')
    want(a.queue_prefix .. str(e.target, 'target'), 'zset')
    str(e.data, 'entry data')
  end
end

for _, it in ipairs(a.items) do
  for _, k in ipairs(it.keys) do redis.call('SET', k, it.id, 'PX', it.ttl) end
  local ik = a.item_prefix .. it.id
  if it.new then redis.call('DEL', ik) end
  add_text(ik, it.fp, it.len, a.kept)
  redis.call('PEXPIRE', ik, it.ttl)
end
for _, p in ipairs(a.places) do
  redis.call('SET', p.prefix .. 'rec:' .. p.sid, p.rec, 'PX', p.ttl)
  for _, b in ipairs(p.bands) do redis.call('SET', p.prefix .. 'band:' .. b, p.sid, 'PX', p.ttl) end
  for _, t in ipairs(p.unpost) do redis.call('ZREM', p.prefix .. 'term:' .. t, p.sid) end
  for _, t in ipairs(p.post) do
    local tk = p.prefix .. 'term:' .. t
    redis.call('ZADD', tk, p.latest, p.sid)
    redis.call('ZREMRANGEBYSCORE', tk, '-inf', '(' .. p.trim)
    redis.call('PEXPIRE', tk, p.ttl)
  end
end
local out, bumped = {}, {}
for i, c in ipairs(a.claims) do
  redis.call('SET', c.prefix .. 'alerted:' .. c.item, c.story, 'PX', c.ttl)
  local ids = {}
  for _, e in ipairs(c.entries) do
    local seq = redis.call('INCR', a.seq_key)
    redis.call('HSET', a.entry_prefix .. seq, 'data', e.data, 'attempts', 0, 'not_before', 0)
    redis.call('ZADD', a.queue_prefix .. e.target, seq, seq)
    redis.call('SADD', a.targets_key, e.target)
    table.insert(ids, tostring(seq))
  end
  out[i] = ids
  if not bumped[c.prefix] then bumped[c.prefix] = true; redis.call('INCR', c.prefix .. 'ver') end
end
return cjson.encode({entries = out})
