-- Read what the store knows for a batch of sightings (see newswatch/store/batch.py: ItemFacts).
-- ARGV[1]: JSON {item_prefix, items: [{keys, fp, watches: [{name, prefix, q}]}], vers: [watch prefix, ...]}
-- q (a story query, see newswatch/stories/plan.py: StoryQuery): {bands, terms: [[term, weight]], since, per, limit}
-- Returns JSON {items: [{ids, fp, len, alerted: {watch: story}, views: {watch: {bands, recs}}}], vers: [n, ...]}
local a = cjson.decode(ARGV[1])

-- The candidates of one story query: the same ranking as newswatch.stories.plan.rank.
local function view(p, q)
  local bands, want, seen = {}, {}, {}
  for i, b in ipairs(q.bands) do
    local sid = redis.call('GET', p .. 'band:' .. b)
    bands[i] = sid or false
    if sid and not seen[sid] then seen[sid] = true; table.insert(want, sid) end
  end
  local shared, order = {}, {}
  for _, tw in ipairs(q.terms) do
    local sids = redis.call('ZREVRANGEBYSCORE', p .. 'term:' .. tw[1], '+inf', q.since, 'LIMIT', 0, q.per)
    for _, sid in ipairs(sids) do
      if not shared[sid] then shared[sid] = 0; table.insert(order, sid) end
      shared[sid] = shared[sid] + tw[2]
    end
  end
  table.sort(order, function(x, y)
    if shared[x] ~= shared[y] then return shared[x] > shared[y] end
    return x < y
  end)
  for i, sid in ipairs(order) do
    if i > q.limit then break end
    if not seen[sid] then seen[sid] = true; table.insert(want, sid) end
  end
  local recs = {}
  for _, sid in ipairs(want) do
    local r = redis.call('GET', p .. 'rec:' .. sid)
    if r then table.insert(recs, r) end
  end
  return {bands = bands, recs = recs}
end

local out = {items = {}, vers = {}}
for i, it in ipairs(a.items) do
  local ids, id = {}, nil
  for j, k in ipairs(it.keys) do
    local v = redis.call('GET', k)
    ids[j] = v or false
    if v and not id then id = v end
  end
  local res = {ids = ids, fp = false, len = 0, alerted = {}, views = {}}
  if id then
    local ik = a.item_prefix .. id
    res.len = tonumber(redis.call('HGET', ik, 'len') or '0')
    res.fp = redis.call('HEXISTS', ik, 'fp:' .. it.fp) == 1
  end
  if not res.fp then  -- a text seen before needs nothing else
    for _, w in ipairs(it.watches) do
      local story = id and redis.call('GET', w.prefix .. 'alerted:' .. id)
      if story then
        res.alerted[w.name] = story
      elseif w.q then
        res.views[w.name] = view(w.prefix, w.q)
      end
    end
  end
  out.items[i] = res
end
for i, p in ipairs(a.vers) do out.vers[i] = tonumber(redis.call('GET', p .. 'ver') or '0') end
return cjson.encode(out)
