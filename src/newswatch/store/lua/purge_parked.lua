-- KEYS[1] parked list (oldest first). ARGV[1]: parked before (epoch s), or '' for all.
if ARGV[1] == '' then
  local n = redis.call('LLEN', KEYS[1])
  redis.call('DEL', KEYS[1])
  return n
end
local cutoff = tonumber(ARGV[1])
local n = 0
while true do
  local raw = redis.call('LINDEX', KEYS[1], 0)
  if not raw then break end
  local row = cjson.decode(raw)
  local at = row.parked_at or 0
  if at >= cutoff then break end
  redis.call('LPOP', KEYS[1])
  n = n + 1
end
return n
