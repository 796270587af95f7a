-- Times in integer milliseconds: Lua numbers are doubles, but integers keep the arithmetic exact.
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local slot = math.max(now, nxt)
redis.call('SET', KEYS[1], slot + tonumber(ARGV[2]), 'PX', math.max(tonumber(ARGV[2]) * 10, 60000))
return slot - now
