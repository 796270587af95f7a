-- Take due feeds for one worker: ZRANGEBYSCORE and moving them past the hold in one step.
-- KEYS[1] the schedule; ARGV: due by, at most, held until.
want(KEYS[1], 'zset')
number(ARGV[1], 'due by')
local limit = positive(ARGV[2], 'limit')
number(ARGV[3], 'held until')
local urls = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit)
for _, u in ipairs(urls) do redis.call('ZADD', KEYS[1], ARGV[3], u) end
return urls
