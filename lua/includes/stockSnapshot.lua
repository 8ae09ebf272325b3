-- @include "locations"

-- Counters of one SKU after a change, as carried by outbox events:
-- {sku, total, available, reserved, sold, version} and, on a SKU with locations, a seventh
-- element: {{location, total, available, reserved, sold, active}, ...} (includes/locations.lua).
local function stockSnapshot(stockKey, sku)
  local v = redis.call('HMGET', stockKey, 'total', 'available', 'reserved', 'sold', 'version', 'locations')
  local snapshot = {sku, tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4]), tonumber(v[5])}
  local locations = parseLocations(v[6])
  if locations then
    snapshot[7] = locationCounters(stockKey, locations)
  end
  return snapshot
end
