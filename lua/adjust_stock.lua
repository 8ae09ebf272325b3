#!lua
--[[
  adjust_stock: adds delta units to a SKU's total and available (negative for shrinkage), in one
  of its active locations on a SKU with locations. Expired holds are swept first.

  KEYS[1]  stock hash    KEYS[2]  expiry index    KEYS[3]  buyers hash
  KEYS[4]  outbox stream
  ARGV[1]  sku   ARGV[2]  delta (non-zero integer)   ARGV[3]  reason   ARGV[4]  actor
  ARGV[5]  lazy sweep limit   ARGV[6]  the largest total a SKU may have
  ARGV[7]  location ('' for none: the SKU's only active location)
  ARGV[8..16]  the partition's line templates (includes/line.lua): units added go to the SKU's line

  Returns
    {0, total, available, reserved, sold, version}
    {-1}              SKU_NOT_FOUND
    {-4, available}   INSUFFICIENT_STOCK (available would fall below zero)
    {-13, total}      TOTAL_TOO_LARGE (total would exceed ARGV[6])
    {-15}             LOCATION_NOT_FOUND (not an active location of the SKU)
    {-16, locations}  LOCATION_REQUIRED (several active locations, none named; their names)
]]
local stockKey, expiryKey, buyersKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local sku, delta, reason, actor, sweepLimit = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
local maxTotal, location = tonumber(ARGV[6]), ARGV[7]

-- @include "nowMs"
-- @include "sweepExpired"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "locations"
-- @include "line"

if redis.call('EXISTS', stockKey) == 0 then
  return {-1}
end
local now = nowMs()
while sweepExpired(stockKey, expiryKey, buyersKey, outboxKey, sku, now, sweepLimit) > 0 do end
local located = parseLocations(redis.call('HGET', stockKey, 'locations'))
if not located then
  if location ~= '' and location ~= DEFAULT_LOCATION then
    return {-15}
  end
  location = nil
elseif location == '' then
  if #located.active ~= 1 then
    return {-16, table.concat(located.active, ',')}
  end
  location = located.active[1]
else
  local active = false
  for _, name in ipairs(located.active) do
    active = active or name == location
  end
  if not active then
    return {-15}
  end
end
local available = tonumber(redis.call('HGET', stockKey, location and locationField(location, 'available') or 'available'))
if available + delta < 0 then
  return {-4, available}
end
local total = tonumber(redis.call('HGET', stockKey, 'total'))
if total + delta > maxTotal then
  return {-13, total}
end
redis.call('HINCRBY', stockKey, 'total', delta)
redis.call('HINCRBY', stockKey, 'available', delta)
if location then
  redis.call('HINCRBY', stockKey, locationField(location, 'total'), delta)
  redis.call('HINCRBY', stockKey, locationField(location, 'available'), delta)
end
redis.call('HINCRBY', stockKey, 'version', 1)
redis.call('HINCRBY', stockKey, 'totalChanges', 1)
local events = {{type = 'ADJUST', at = now, sku = sku, delta = delta, reason = reason, actor = actor, location = location}}
-- Units added go to the SKU's line (if it has one) in the same step.
serveLine(lineOf(sku, stockKey, expiryKey, buyersKey, lineTemplates(8)), now, events)
local snapshot = stockSnapshot(stockKey, sku)
appendEntry(outboxKey, events, {snapshot})
return {0, snapshot[2], snapshot[3], snapshot[4], snapshot[5], snapshot[6]}
