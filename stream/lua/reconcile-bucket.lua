-- Sets a hot bucket to the database's sums, but only if it still holds what the reconciler read
-- (a delta applied in between wins; the next run looks again).
-- KEYS[1] bucket hash   KEYS[2] dirty-scope set   KEYS[3] settled hash (a change of settled time, apply-entry.lua)
-- ARGV: expireAt, scope, 8 × expected, 8 × wanted
--   (fields: exposure clicks visits conversions revenue spend revenue:hi spend:hi; see redis-keys.ts)
local fields = { 'exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'revenue:hi', 'spend:hi' }
local n = #fields
local current = redis.call('HMGET', KEYS[1], unpack(fields))
for f = 1, n do
  if (current[f] or '0') ~= ARGV[2 + f] then return 0 end
end
redis.call('DEL', KEYS[1])
for f = 1, n do
  local wanted = ARGV[2 + n + f]
  if wanted ~= '0' then redis.call('HSET', KEYS[1], fields[f], wanted) end
end
redis.call('EXPIREAT', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
return 1
