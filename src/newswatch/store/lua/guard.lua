-- The head of every script that writes (prepended when the script is loaded, see redis.py: _lua).
-- A script checks every key's type and every argument with these before its first write, so that a runtime
-- error (a key of the wrong type, a bad number) stops it with nothing written: Redis does not roll back.
local function want(key, kind)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= kind then
    error({err = 'newswatch: ' .. key .. ' holds a ' .. t .. ', not a ' .. kind .. '; nothing was written'})
  end
end

local function number(v, what)
  local n = tonumber(v)
  if n == nil or n ~= n then error({err = 'newswatch: ' .. what .. ' is not a number; nothing was written'}) end
  return n
end

local function positive(v, what)
  local n = number(v, what)
  if n <= 0 then error({err = 'newswatch: ' .. what .. ' must be positive; nothing was written'}) end
  return n
end

-- A counter INCR will move: absent, or a string holding an integer.
local function counter(key)
  want(key, 'string')
  local v = redis.call('GET', key)
  if v and not string.match(v, '^%-?%d+$') then
    error({err = 'newswatch: ' .. key .. ' is not an integer; nothing was written'})
  end
end

-- Fencing (newswatch.store.base.Fence): KEYS[1] the lease's grant counter, KEYS[2] the lease; ARGV[1] the
-- holder, ARGV[2] the grant's epoch ('' for a write no lease guards).  The grant holds while no later one was
-- made: the counter still stands at its epoch, and the lease is free (it lapsed, nobody took it) or the holder's.
local function fence_holds()
  if ARGV[2] == '' then return true end
  if redis.call('GET', KEYS[1]) ~= ARGV[2] then return false end
  local h = redis.call('GET', KEYS[2])
  return (not h) or h == ARGV[1]
end
