-- What one watch's state says of a batch's items, on a Redis Cluster (read.lua's per-watch half: every key of
-- one watch shares its {watch} slot).  KEYS[1] the watch's version, then the keys ARGV[1] names by index.
-- ARGV[1]: JSON {items: [{n, alerted (key index, 0: none), q: {bands: [key index], terms: [[key index, weight]],
--   since, per, limit} (or absent)}]}; n is the item's place in the batch.
-- Returns JSON {ver, items: [{n, story} | {n, bands: [sid | false], want: [sid]}]}: the story when the watch
-- reported the item already, else its story candidates ranked as newswatch.stories.plan.rank (the records of
-- `want` are read next, in one MGET of the same slot).
local a = cjson.decode(ARGV[1])
local out = {ver = tonumber(redis.call('GET', KEYS[1]) or '0'), items = {}}
for i, it in ipairs(a.items) do
  local story = it.alerted > 0 and redis.call('GET', KEYS[it.alerted])
  if story then
    out.items[i] = {n = it.n, story = story}
  else
    local q, bands, want, seen = it.q, {}, {}, {}
    if q then
      for j, k in ipairs(q.bands) do
        local sid = redis.call('GET', KEYS[k])
        bands[j] = sid or false
        if sid and not seen[sid] then seen[sid] = true; table.insert(want, sid) end
      end
      local shared, order = {}, {}
      for _, tw in ipairs(q.terms) do
        for _, sid in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[tw[1]], '+inf', q.since, 'LIMIT', 0, q.per)) do
          if not shared[sid] then shared[sid] = 0; table.insert(order, sid) end
          shared[sid] = shared[sid] + tw[2]
        end
      end
      table.sort(order, function(x, y)
        if shared[x] ~= shared[y] then return shared[x] > shared[y] end
        return x < y
      end)
      for j, sid in ipairs(order) do
        if j > q.limit then break end
        if not seen[sid] then seen[sid] = true; table.insert(want, sid) end
      end
    end
    out.items[i] = {n = it.n, bands = bands, want = want, q = q and true or false}
  end
end
return cjson.encode(out)
