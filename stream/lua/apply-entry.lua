-- Applies one stream entry's increments to the hot buckets and acknowledges the entry, atomically.
-- If the entry is no longer pending (another consumer already applied it) nothing is changed,
-- so a redelivered or claimed entry is counted exactly once.
--
-- Each increment names a scope and a 10 s bucket; the script adds it to the 10 s, 1 min and 1 h
-- buckets that hold it (keys <prefix>h:<levelMs>:<start>:<scope>, HyperLogLogs <prefix>u:…).
--
-- KEYS[1] stream   KEYS[2] dirty-scope set
-- ARGV: group, entryId, keyPrefix, hotRetentionMs,
--       H, then H × (scope, bucketStart, exposure, clicks, visits, conversions, revenue, spend),
--       U, then U × (scope, bucketStart, n, user × n),
--       D, then D × scope
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if acked == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])

local prefix, retention = ARGV[3], tonumber(ARGV[4])
local LEVELS = { 10000, 60000, 3600000 }
-- how long past its end a bucket is kept: the hourly level must cover a whole 24 h window
local EXTRA = { 600000, 600000, 7200000 }
local fields = { 'exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend' }

local function level_key(kind, l, bucket, scope)
  local start = bucket - (bucket % LEVELS[l])
  return string.format('%s%s:%d:%d:%s', prefix, kind, LEVELS[l], start, scope),
    math.ceil((start + LEVELS[l] + retention + EXTRA[l]) / 1000)
end

local i = 5
local hashes = tonumber(ARGV[i]); i = i + 1
for _ = 1, hashes do
  local scope, bucket = ARGV[i], tonumber(ARGV[i + 1])
  for l = 1, 3 do
    local key, expire_at = level_key('h', l, bucket, scope)
    local created = false
    for f = 1, 6 do
      local inc = ARGV[i + 1 + f]
      -- a field whose new value equals the increment was just created: the key may be new
      if inc ~= '0' and redis.call('HINCRBY', key, fields[f], inc) == tonumber(inc) then created = true end
    end
    if created then redis.call('EXPIREAT', key, expire_at) end
  end
  i = i + 8
end

local hlls = tonumber(ARGV[i]); i = i + 1
for _ = 1, hlls do
  local scope, bucket, n = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  for l = 1, 3 do
    local key, expire_at = level_key('u', l, bucket, scope)
    local changed = 0
    -- unpack in chunks to stay under Lua's stack limit
    for s = i + 3, i + 2 + n, 4000 do
      changed = changed + redis.call('PFADD', key, unpack(ARGV, s, math.min(s + 3999, i + 2 + n)))
    end
    if changed > 0 then redis.call('EXPIREAT', key, expire_at) end
  end
  i = i + 3 + n
end

local dirty = tonumber(ARGV[i]); i = i + 1
for s = i, i + dirty - 1, 4000 do
  redis.call('SADD', KEYS[2], unpack(ARGV, s, math.min(s + 3999, i + dirty - 1)))
end
return 1
