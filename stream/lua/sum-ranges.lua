-- Sums hot buckets into ranges inside Redis, so a reader gets one short reply per range instead of
-- every bucket's fields, and sends each range as (scope, from, to) rather than its buckets' keys: the
-- script splits a range into the fewest aligned hourly, minute and 10 s buckets itself and names
-- their keys as apply-entry.lua and redis-keys.ts (partitionKeys) do. Exact: each field's
-- value (a decimal string of up to 19 digits, maybe negative) is split into its last 9 digits and
-- the rest, and the two parts are summed apart — each part sum stays far below 2^53, where Lua's
-- doubles are exact; the caller joins them in BigInt.
-- It also answers what a reader keeping sums of settled time must check (hot-read.ts): the settled
-- hash's epoch (made here if the hash is new: Redis restarted or was emptied), Redis's clock, and
-- how often writes landed in the settled time of the scopes asked for.
--
-- The bucket keys share the settled hash's hash tag (one partition, one slot): on a cluster they
-- live on the node this call is routed to by KEYS[1].
-- KEYS[1] the settled hash
-- ARGV: keyPrefix, V, V × scope, R, then R × (scope, from, to, mode: 0 sums, 1 sums and users, 2 users only)
--       (from and to multiples of 10 s, epoch ms)
-- Reply: one string, space-separated: epoch, now (ms), V × changes, then R × (8 fields × (high, low), users)
local FIELDS = { 'exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'revenue:hi', 'spend:hi' }
local SPLIT = 1000000000

local epoch = redis.call('HGET', KEYS[1], '#epoch')
local time = redis.call('TIME')
if not epoch then
  epoch = time[1] .. '.' .. time[2]
  redis.call('HSET', KEYS[1], '#epoch', epoch)
end
local out = { epoch, tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) }
local versions = tonumber(ARGV[2])
if versions > 0 then
  local changes = redis.call('HMGET', KEYS[1], unpack(ARGV, 3, 2 + versions))
  for v = 1, versions do out[#out + 1] = tonumber(changes[v] or '0') end
end

local prefix = ARGV[1]
-- largest first: a part is the largest level aligned at the cursor that still fits in the range
local LEVELS = { 3600000, 60000, 10000 }
local function parts_of(from, to)
  local parts = {}
  local cursor = from
  while cursor < to do
    local size = 10000
    for _, level in ipairs(LEVELS) do
      if cursor % level == 0 and cursor + level <= to then size = level; break end
    end
    parts[#parts + 1] = string.format('%d:%d', size, cursor)
    cursor = cursor + size
  end
  return parts
end

local at = 3 + versions
local ranges = tonumber(ARGV[at])
for r = 0, ranges - 1 do
  local base = at + 1 + r * 4
  local scope, mode = ARGV[base], tonumber(ARGV[base + 3])
  local parts = parts_of(tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]))
  local high, low = { 0, 0, 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0, 0, 0 }
  if mode ~= 2 then
    for p = 1, #parts do
      local values = redis.call('HMGET', prefix .. 'h:' .. parts[p] .. ':' .. scope, unpack(FIELDS))
      for f = 1, 8 do
        local v = values[f]
        if v then
          local sign = 1
          if string.sub(v, 1, 1) == '-' then sign = -1; v = string.sub(v, 2) end
          local n = #v
          if n > 9 then
            high[f] = high[f] + sign * tonumber(string.sub(v, 1, n - 9))
            low[f] = low[f] + sign * tonumber(string.sub(v, n - 8))
          else
            low[f] = low[f] + sign * tonumber(v)
          end
        end
      end
    end
  end
  for f = 1, 8 do
    -- carry whole SPLITs from low to high so both stay small however many parts there are
    local carry = (low[f] - low[f] % SPLIT) / SPLIT
    out[#out + 1] = high[f] + carry
    out[#out + 1] = low[f] - carry * SPLIT
  end
  if mode ~= 0 and #parts > 0 then
    local users = {}
    for p = 1, #parts do users[p] = prefix .. 'u:' .. parts[p] .. ':' .. scope end
    out[#out + 1] = redis.call('PFCOUNT', unpack(users))
  else
    out[#out + 1] = 0
  end
end
-- one string, not an array of integers: a reader parses ~3 500 numbers a call for a nation's frame,
-- and splitting one string costs it a fraction of decoding as many RESP integers
for i = 2, #out do out[i] = string.format('%d', out[i]) end
return table.concat(out, ' ')
