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

-- Record one text of an item, in its hash `ik`: field fp:<fingerprint> holds the order the text was first seen
-- in (field fpn counts them; texts stored before this hold 1, the oldest), field len the longest length.  Past twice
-- `kept` texts the oldest go, down to `kept` (one prune per `kept` new texts), so a live item whose text changes
-- every poll keeps a bounded hash (issue 21; newswatch.constants.ITEM_TEXTS_KEPT).  The caller checked the
-- key is a hash.
local function add_text(ik, fp, len, kept)
  local field = 'fp:' .. fp
  if redis.call('HEXISTS', ik, field) == 0 then
    redis.call('HSET', ik, field, redis.call('HINCRBY', ik, 'fpn', 1) + 1)  -- from 2: after every 1
    if redis.call('HLEN', ik) > 2 * kept + 2 then
      local all, texts = redis.call('HGETALL', ik), {}
      for i = 1, #all, 2 do
        if string.sub(all[i], 1, 3) == 'fp:' then table.insert(texts, {all[i], tonumber(all[i + 1]) or 0}) end
      end
      table.sort(texts, function(x, y) return x[2] > y[2] end)
      for i = kept + 1, #texts do redis.call('HDEL', ik, texts[i][1]) end
    end
  end
  redis.call('HSET', ik, 'len', len)
end
