#!lua flags=no-writes
--[[
  bucket_count: what a reserve refused in its user's bucket needs to know of every bucket of a split
  SKU (src/services/bucketRefills.ts), one bucket per call, with Redis time. Changes nothing.

  KEYS[1]  the bucket's stock hash   KEYS[2]  its expiry index
  ARGV[1]  most expired holds counted (the rest wait for the next sweep)

  Returns {} when the bucket does not exist, else
    {available, movingOut, version, expired, location, available, expired, ...}: units available;
    units moving out of it to another bucket (lua/bucket_move_out.lua); its change counter; units
    of holds whose time ran out, available again as soon as anything sweeps the bucket (a move out
    of it does first); then, on a bucket with locations, the same two counts for each active
    location in priority order (a retired one holds nothing a reserve could take)
]]
-- @include "nowMs"
-- @include "holdMember"
-- @include "locations"

local v = redis.call('HMGET', KEYS[1], 'available', 'movingOut', 'version', 'locations')
if not v[1] then
  return {}
end
local located = parseLocations(v[4])
local expired, expiredAt = 0, {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', nowMs(), 'LIMIT', 0, tonumber(ARGV[1]))) do
  local _, units, _, allocations = parseHoldMember(member)
  expired = expired + units
  for _, allocation in ipairs(allocationsOf(units, allocations, located) or {}) do
    expiredAt[allocation[1]] = (expiredAt[allocation[1]] or 0) + allocation[2]
  end
end
local reply = {tonumber(v[1]), tonumber(v[2] or 0), tonumber(v[3] or 0), expired}
for _, location in ipairs(located and located.active or {}) do
  reply[#reply + 1] = location
  reply[#reply + 1] = tonumber(redis.call('HGET', KEYS[1], locationField(location, 'available')) or 0)
  reply[#reply + 1] = expiredAt[location] or 0
end
return reply
