-- Take due feeds for one worker: ZRANGEBYSCORE and moving them past the hold in one step.
local urls = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, u in ipairs(urls) do redis.call('ZADD', KEYS[1], ARGV[3], u) end
return urls
