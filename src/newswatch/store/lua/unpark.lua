-- KEYS[1] parked list, KEYS[2] targets set. ARGV: queue prefix, entry prefix, now (epoch s).
-- Every parked record back into its own queue at its old place (its sequence number), attempts reset.
local rows = redis.call('LRANGE', KEYS[1], 0, -1)
local n = 0
local kept = {}
for _, raw in ipairs(rows) do
  local row = cjson.decode(raw)
  local data = cjson.decode(row.data)
  local target = data.target or ''
  if target ~= '' then
    redis.call('HSET', ARGV[2] .. row.id, 'data', row.data, 'attempts', 0, 'not_before', 0)
    redis.call('ZADD', ARGV[1] .. target, tonumber(row.id), row.id)
    redis.call('SADD', KEYS[2], target)
    n = n + 1
  else
    kept[#kept + 1] = raw  -- no queue to go back to: stays parked
  end
end
redis.call('DEL', KEYS[1])
for _, raw in ipairs(kept) do redis.call('RPUSH', KEYS[1], raw) end
return n
