-- @include "holdMember"
-- @include "addBuyerUnits"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "locations"

-- Returns to the shelf (to the locations they were taken from) the units of at most `limit` holds
-- of one SKU whose expiry is at or before `now`. Removing a member from the expiry index is what returns its units, so every hold is
-- returned exactly once whoever sweeps it (lazy sweep, reconciler, commit or release).
-- Returns the number of holds released and the units they returned.
local function sweepExpired(stockKey, expiryKey, buyersKey, outboxKey, sku, now, limit)
  local members = redis.call('ZRANGEBYSCORE', expiryKey, '-inf', now, 'LIMIT', 0, limit)
  if #members == 0 then
    return 0, 0
  end
  local units = 0
  local lines = {}
  local perBuyer = {}
  local located = redis.call('HEXISTS', stockKey, 'locations') == 1
  local perLocation = newAllocationSum()
  for i, member in ipairs(members) do
    local reservationId, held, userId, allocations = parseHoldMember(member)
    units = units + held
    perBuyer[userId] = (perBuyer[userId] or 0) + held
    allocations = allocationsOf(held, allocations, located)
    if allocations then
      addAllocations(perLocation, allocations)
      lines[i] = {reservationId, sku, holdUnitsText(held, allocations)}
    else
      lines[i] = {reservationId, sku, held}
    end
  end
  for start = 1, #members, 1000 do
    redis.call('ZREM', expiryKey, unpack(members, start, math.min(start + 999, #members)))
  end
  if hasUserLimit(stockKey) then
    for userId, held in pairs(perBuyer) do
      addBuyerUnits(buyersKey, userId, -held)
    end
  end
  local events = {{type = 'EXPIRE', at = now, lines = lines}}
  returnHeldUnits(stockKey, sku, units, located and perLocation.list or nil, events, now)
  redis.call('HINCRBY', stockKey, 'version', 1)
  appendEntry(outboxKey, events, {stockSnapshot(stockKey, sku)})
  return #members, units
end
