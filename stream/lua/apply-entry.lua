-- Applies one stream entry's increments to the hot buckets and acknowledges the entry, atomically.
-- If the entry is no longer pending (another consumer already applied it) nothing is changed,
-- so a redelivered or claimed entry is counted exactly once.
--
-- KEYS[1] stream   KEYS[2] dirty-scope set
-- ARGV: group, entryId,
--       H, then H × (hashKey, expireAt, exposure, clicks, visits, conversions, revenue, spend),
--       U, then U × (hllKey, expireAt, n, user × n),
--       D, then D × scope
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if acked == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])

local fields = { 'exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend' }
local i = 3
local hashes = tonumber(ARGV[i]); i = i + 1
for _ = 1, hashes do
  local key = ARGV[i]
  local created = false
  for f = 1, 6 do
    local inc = ARGV[i + 1 + f]
    if inc ~= '0' then
      -- a field whose new value equals the increment was just created: the key may be new
      if redis.call('HINCRBY', key, fields[f], inc) == tonumber(inc) then created = true end
    end
  end
  if created then redis.call('EXPIREAT', key, ARGV[i + 1]) end
  i = i + 8
end

local hlls = tonumber(ARGV[i]); i = i + 1
for _ = 1, hlls do
  local key, expireAt, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local users = {}
  for u = 1, n do users[u] = ARGV[i + 2 + u] end
  -- PFADD takes at most a few thousand arguments comfortably; chunk to stay well under Lua's stack limit
  local changed = 0
  for s = 1, n, 4000 do
    changed = changed + redis.call('PFADD', key, unpack(users, s, math.min(s + 3999, n)))
  end
  if changed > 0 then redis.call('EXPIREAT', key, expireAt) end
  i = i + 3 + n
end

local dirty = tonumber(ARGV[i]); i = i + 1
if dirty > 0 then
  for s = i, i + dirty - 1, 4000 do
    redis.call('SADD', KEYS[2], unpack(ARGV, s, math.min(s + 3999, i + dirty - 1)))
  end
end
return 1
