-- Add a worker's learned document frequencies. KEYS[1] term counts (sorted set), KEYS[2] documents counted.
-- ARGV: documents, max terms, then term, increment, term, increment, ...
want(KEYS[1], 'zset')
counter(KEYS[2])
number(ARGV[1], 'documents')
local max = positive(ARGV[2], 'max terms')
for i = 3, #ARGV, 2 do number(ARGV[i + 1], 'increment') end
for i = 3, #ARGV, 2 do redis.call('ZINCRBY', KEYS[1], ARGV[i + 1], ARGV[i]) end
redis.call('INCRBY', KEYS[2], ARGV[1])
local card = redis.call('ZCARD', KEYS[1])
if card > max + math.floor(max / 10) then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, card - max - 1) end
return card
