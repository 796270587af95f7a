-- Reserve a paced channel's next send slot.  KEYS[1] next free time; ARGV: now, interval, the furthest ahead a
-- reservation can sanely lie (all integer milliseconds: Lua numbers are doubles, integers keep them exact).
-- A slot further ahead than that was reserved on a clock that has since stepped back: it is dropped, so a
-- clock step never stalls a channel.
want(KEYS[1], 'string')
local now = number(ARGV[1], 'now')
local interval = positive(ARGV[2], 'interval')
local horizon = positive(ARGV[3], 'horizon')
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if nxt - now > horizon then nxt = now end
local slot = math.max(now, nxt)
redis.call('SET', KEYS[1], slot + interval, 'PX', math.max(interval * 10, 60000))
return slot - now
