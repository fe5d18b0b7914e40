-- Applies stream entries' increments to the hot buckets and acknowledges the entries, atomically
-- and all-or-nothing: the entries are acknowledged (XACK, XDEL) last, and if any increment fails
-- the ones already made are taken back and the entries stay pending, to be retried or dead-lettered.
-- If any entry is no longer pending (another consumer already applied it) nothing is changed and
-- 0 is answered, so a redelivered or claimed entry is counted exactly once: the caller then applies
-- the others one by one. The delta is the sum of the entries' own (a batch's entries in one call
-- add each bucket once, not once per entry).
--
-- Each increment names a scope and a 10 s bucket; the script adds it to the 10 s, 1 min and 1 h
-- buckets that hold it (keys <prefix>h:<levelMs>:<start>:<scope>, HyperLogLogs <prefix>u:…).
-- Money fields (5, 6) carry into their ':hi' fields (7, 8) at MONEY_BASE, so no field can overflow.
--
-- A write into a 10 s bucket that ended more than LATE_MS ago (by Redis's clock) counts a change
-- of its scope in the settled hash: readers that keep sums of settled time (hot-read.ts) read it
-- again.
--
-- KEYS[1] stream   KEYS[2] dirty-scope set   KEYS[3] settled hash (scope → changes of settled time)
-- ARGV: group, E, E × entryId, keyPrefix, hotRetentionMs, delta
-- delta (MessagePack, every value a string; one argument rather than thousands, see msgpack-strings.ts):
--   [ hashes: H × (scope, bucketStart, exposure, clicks, visits, conversions, revenue, spend, revenue:hi, spend:hi), flat,
--     hlls: U × [scope, bucketStart, user…],
--     scopes: D × scope ]
local group, entries = ARGV[1], tonumber(ARGV[2])
for e = 3, 2 + entries do
  if #redis.call('XPENDING', KEYS[1], group, ARGV[e], ARGV[e], 1) == 0 then return 0 end
end

local prefix, retention, packed = ARGV[3 + entries], tonumber(ARGV[4 + entries]), ARGV[5 + entries]
local LEVELS = { 10000, 60000, 3600000 }
-- how long past its end a bucket is kept: the hourly level must cover a whole 24 h window
local EXTRA = { 600000, 600000, 7200000 }
local fields = { 'exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'revenue:hi', 'spend:hi' }
-- numbers go to Redis as strings: Lua would print 10^15 as '1e+15', which HINCRBY refuses
local MONEY_BASE, MINUS_MONEY_BASE = 1000000000000000, '-1000000000000000'
local FIELDS_PER_HASH = 8
-- a reader keeps sums only of time settled for longer (hot-read.ts SETTLED_MARGIN_MS): any later write into it counts
local LATE_MS, BUCKET_MS = 20000, 10000

local function level_key(kind, l, bucket, scope)
  local start = bucket - (bucket % LEVELS[l])
  return string.format('%s%s:%d:%d:%s', prefix, kind, LEVELS[l], start, scope),
    math.ceil((start + LEVELS[l] + retention + EXTRA[l]) / 1000)
end

-- every HINCRBY made (increments as integer strings), so that a failure part-way can take them all back
local made = {}
local function negated(by)
  if string.sub(by, 1, 1) == '-' then return string.sub(by, 2) end
  return '-' .. by
end
local function incr(key, field, by)
  local value = redis.call('HINCRBY', key, field, by)
  made[#made + 1] = { key, field, by }
  return value
end

local function apply()
  local delta = cmsgpack.unpack(packed)
  local hashes, hlls, dirty = delta[1], delta[2], delta[3]
  local time = redis.call('TIME')
  local late_before = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) - LATE_MS
  local counted = {}
  for i = 1, #hashes, 2 + FIELDS_PER_HASH do
    local scope, bucket = hashes[i], tonumber(hashes[i + 1])
    if bucket + BUCKET_MS <= late_before and not counted[scope] then
      counted[scope] = true
      redis.call('HINCRBY', KEYS[3], scope, 1)
    end
    for l = 1, 3 do
      local key, expire_at = level_key('h', l, bucket, scope)
      local created = false
      for f = 1, FIELDS_PER_HASH do
        local inc = hashes[i + 1 + f]
        if inc ~= '0' then
          local value = incr(key, fields[f], inc)
          -- a field whose new value equals the increment was just created: the key may be new
          if value == tonumber(inc) then created = true end
          if (f == 5 or f == 6) and value >= MONEY_BASE then
            incr(key, fields[f], MINUS_MONEY_BASE)
            incr(key, fields[f + 2], '1')
          end
        end
      end
      if created then redis.call('EXPIREAT', key, expire_at) end
    end
  end

  -- HyperLogLogs, the dirty set and expiries ignore repeats: a retry may safely add them again
  for _, hll in ipairs(hlls) do
    local scope, bucket = hll[1], tonumber(hll[2])
    for l = 1, 3 do
      local key, expire_at = level_key('u', l, bucket, scope)
      local changed = 0
      -- unpack in chunks to stay under Lua's stack limit
      for s = 3, #hll, 4000 do
        changed = changed + redis.call('PFADD', key, unpack(hll, s, math.min(s + 3999, #hll)))
      end
      if changed > 0 then redis.call('EXPIREAT', key, expire_at) end
    end
  end

  for s = 1, #dirty, 4000 do
    redis.call('SADD', KEYS[2], unpack(dirty, s, math.min(s + 3999, #dirty)))
  end
end

local ok, err = pcall(apply)
if not ok then
  for m = #made, 1, -1 do
    redis.pcall('HINCRBY', made[m][1], made[m][2], negated(made[m][3]))
  end
  local message = type(err) == 'table' and (err.err or tostring(err)) or tostring(err)
  return redis.error_reply('hot apply failed, nothing applied: ' .. message)
end

redis.call('XACK', KEYS[1], group, unpack(ARGV, 3, 2 + entries))
redis.call('XDEL', KEYS[1], unpack(ARGV, 3, 2 + entries))
return 1
