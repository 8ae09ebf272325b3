#!lua flags=allow-oom
--[[
  repair_stock: rebuilds a SKU's counters from the facts: total and sold as Postgres recorded
  them, reserved from the SKU's own expiry index, available as what is left. Refuses when the
  SKU changed since the reconciler read it (its version moved), so a repair never overwrites a
  change it did not see.

  KEYS[1]  stock hash     KEYS[2]  expiry index
  ARGV[1]  version the reconciler read   ARGV[2]  total (fact)   ARGV[3]  sold (fact)

  Returns
    {0, total, available, reserved, sold, version}   repaired
    {-11}                                            SKU changed meanwhile; try again next pass
    {-1}                                             SKU_NOT_FOUND
    {-12, total, reserved, sold}                     facts do not add up (reserved + sold > total)
]]
local stockKey, expiryKey = KEYS[1], KEYS[2]
local expectedVersion, total, sold = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

-- @include "heldUnits"

local version = redis.call('HGET', stockKey, 'version')
if not version then
  return {-1}
end
if version ~= expectedVersion then
  return {-11}
end
local reserved = heldUnits(expiryKey)
if reserved + sold > total then
  return {-12, total, reserved, sold}
end
local nextVersion = redis.call('HINCRBY', stockKey, 'version', 1)
redis.call('HSET', stockKey, 'total', total, 'available', total - reserved - sold, 'reserved', reserved, 'sold', sold)
return {0, total, total - reserved - sold, reserved, sold, nextVersion}
