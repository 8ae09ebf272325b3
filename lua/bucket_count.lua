#!lua flags=no-writes
--[[
  bucket_count: what a reserve refused in its user's bucket needs to know of every bucket of a split
  SKU (src/services/bucketRefills.ts), one bucket per call, with Redis time. Changes nothing.

  KEYS[1]  the bucket's stock hash   KEYS[2]  its expiry index
  ARGV[1]  most expired holds counted (the rest wait for the next sweep)

  Returns {} when the bucket does not exist, else
    {available, movingOut, version, expired}: units available; units moving out of it to another
    bucket (lua/bucket_move_out.lua); its change counter; units of holds whose time ran out,
    available again as soon as anything sweeps the bucket (a move out of it does first)
]]
-- @include "nowMs"

local v = redis.call('HMGET', KEYS[1], 'available', 'movingOut', 'version')
if not v[1] then
  return {}
end
local expired = 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', nowMs(), 'LIMIT', 0, tonumber(ARGV[1]))) do
  expired = expired + tonumber(string.match(member, '^[^|]*|(%d+)'))
end
return {tonumber(v[1]), tonumber(v[2] or 0), tonumber(v[3] or 0), expired}
