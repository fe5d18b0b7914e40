-- Sums hot buckets into ranges inside Redis, so a reader gets one short reply per range instead of
-- every bucket's fields. Exact: each field's value (a decimal string of up to 19 digits, maybe
-- negative) is split into its last 9 digits and the rest, and the two parts are summed apart —
-- each part sum stays far below 2^53, where Lua's doubles are exact; the caller joins them in BigInt.
-- It also answers what a reader keeping sums of settled time must check (hot-read.ts): the settled
-- hash's epoch (made here if the hash is new: Redis restarted or was emptied), Redis's clock, and
-- how often writes landed in the settled time of the scopes asked for.
--
-- KEYS: the settled hash, then for each range its bucket hashes (unless mode 2), then (mode 1, 2)
--       its HyperLogLogs
-- ARGV: V, V × scope, R, then R × (parts, mode: 0 sums, 1 sums and users, 2 users only)
-- Reply: epoch, now (ms), V × changes, then R × (8 fields × (high, low), users)
local FIELDS = { 'exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'revenue:hi', 'spend:hi' }
local SPLIT = 1000000000

local epoch = redis.call('HGET', KEYS[1], '#epoch')
local time = redis.call('TIME')
if not epoch then
  epoch = time[1] .. '.' .. time[2]
  redis.call('HSET', KEYS[1], '#epoch', epoch)
end
local out = { epoch, tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) }
local versions = tonumber(ARGV[1])
if versions > 0 then
  local changes = redis.call('HMGET', KEYS[1], unpack(ARGV, 2, 1 + versions))
  for v = 1, versions do out[#out + 1] = tonumber(changes[v] or '0') end
end

local k = 2
local at = 2 + versions
local ranges = tonumber(ARGV[at])
for r = 0, ranges - 1 do
  local parts, mode = tonumber(ARGV[at + 1 + r * 2]), tonumber(ARGV[at + 2 + r * 2])
  local high, low = { 0, 0, 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0, 0, 0 }
  if mode ~= 2 then
    for p = 1, parts do
      local values = redis.call('HMGET', KEYS[k], unpack(FIELDS))
      k = k + 1
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
  if mode ~= 0 and parts > 0 then
    out[#out + 1] = redis.call('PFCOUNT', unpack(KEYS, k, k + parts - 1))
    k = k + parts
  else
    out[#out + 1] = 0
  end
end
return out
