-- Sums hot buckets into ranges inside Redis, so a reader gets one short reply per range instead of
-- every bucket's fields. Exact: each field's value (a decimal string of up to 19 digits, maybe
-- negative) is split into its last 9 digits and the rest, and the two parts are summed apart —
-- each part sum stays far below 2^53, where Lua's doubles are exact; the caller joins them in BigInt.
--
-- KEYS: for each range, its bucket hashes, then (if it counts users) its HyperLogLogs
-- ARGV: R, then R × (parts, countUsers 0|1)
-- Reply: R × (8 fields × (high, low), users)
local FIELDS = { 'exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'revenue:hi', 'spend:hi' }
local SPLIT = 1000000000

local out = {}
local k = 1
local ranges = tonumber(ARGV[1])
for r = 0, ranges - 1 do
  local parts, users = tonumber(ARGV[2 + r * 2]), ARGV[3 + r * 2] == '1'
  local high, low = { 0, 0, 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0, 0, 0 }
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
  for f = 1, 8 do
    -- carry whole SPLITs from low to high so both stay small however many parts there are
    local carry = (low[f] - low[f] % SPLIT) / SPLIT
    out[#out + 1] = high[f] + carry
    out[#out + 1] = low[f] - carry * SPLIT
  end
  if users and parts > 0 then
    out[#out + 1] = redis.call('PFCOUNT', unpack(KEYS, k, k + parts - 1))
    k = k + parts
  else
    out[#out + 1] = 0
  end
end
return out
