#!lua flags=allow-oom
--[[
  repair_stock: rebuilds a SKU's counters from the facts: total and sold as Postgres recorded
  them, reserved from the SKU's own expiry index, available as what is left. Refuses when the
  SKU changed since the reconciler read it (its version moved), so a repair never overwrites a
  change it did not see.

  KEYS[1]  stock hash     KEYS[2]  expiry index
  KEYS[3]  outbox stream: an entry with the repaired counters (so the SKU's row follows them in
           stream order, whoever writes it), and an ADJUST when a retired location keeps units no
           hold can take
  ARGV[1]  version the reconciler read   ARGV[2]  total (fact)   ARGV[3]  sold (fact)
  ARGV[4]  on a SKU with locations, the levels text of the facts (includes/locationLevels.lua:
           total and sold per location); '' without
  ARGV[5]  sku

  Returns
    {0, total, available, reserved, sold, version}   repaired
    {-11}                                            SKU changed meanwhile; try again next pass
    {-1}                                             SKU_NOT_FOUND
    {-12, total, reserved, sold[, location]}         facts do not add up (reserved + sold > total, in that location)
]]
local stockKey, expiryKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local expectedVersion, total, sold, levelsText, sku = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]

-- @include "heldUnits"
-- @include "locationLevels"
-- @include "nowMs"
-- @include "stockSnapshot"
-- @include "appendEntry"

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
local events = {}
if levelsText ~= '' then
  local held, levels = heldByLocation(redis.call('ZRANGE', expiryKey, 0, -1), true), parseLevels(levelsText)
  local dropped = writeOffRetired(levels, held, sku, nowMs(), events)
  local location, locationReserved, locationSold = writeLevels(stockKey, levels, held, dropped, true)
  if location then
    return {-12, total, locationReserved, locationSold, location}
  end
else
  redis.call('HSET', stockKey, 'total', total, 'available', total - reserved - sold, 'reserved', reserved, 'sold', sold)
end
local nextVersion = redis.call('HINCRBY', stockKey, 'version', 1)
redis.call('HINCRBY', stockKey, 'totalChanges', 1)
appendEntry(outboxKey, events, {stockSnapshot(stockKey, sku)})
local v = redis.call('HMGET', stockKey, 'total', 'available', 'reserved', 'sold')
return {0, tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4]), nextVersion}
