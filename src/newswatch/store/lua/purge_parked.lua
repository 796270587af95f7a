-- KEYS[1] parked list (oldest first). ARGV[1]: parked before (epoch s), or '' for all.
-- Each step is whole by itself (a row purged stays purged), so an unreadable row only stops the purge there.
want(KEYS[1], 'list')
if ARGV[1] == '' then
  local n = redis.call('LLEN', KEYS[1])
  redis.call('DEL', KEYS[1])
  return n
end
local cutoff = number(ARGV[1], 'parked before')
local n = 0
while true do
  local raw = redis.call('LINDEX', KEYS[1], 0)
  if not raw then break end
  local ok, row = pcall(cjson.decode, raw)
  local at = ok and type(row) == 'table' and tonumber(row.parked_at) or 0
  if at >= cutoff then break end
  redis.call('LPOP', KEYS[1])
  n = n + 1
end
return n
