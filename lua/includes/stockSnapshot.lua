-- @include "locations"
-- @include "epochKey"

-- Counters of one SKU after a change, as carried by outbox events:
-- {sku, total, available, reserved, sold, version, locations, epoch}: locations false on a SKU
-- without them, else {{location, total, available, reserved, sold, active}, ...}
-- (includes/locations.lua); the epoch last, so a reader that knows none reads the rest as before.
-- The epoch is the partition's (lua/start_epoch.lua), written into the stock hash too when it
-- changed, so the hash tells which epoch its version counts in; a partition without one (never
-- begun) keeps the hash's own, 0 when it has none.
local function stockSnapshot(stockKey, sku)
  local v = redis.call('HMGET', stockKey, 'total', 'available', 'reserved', 'sold', 'version', 'locations', 'epoch')
  local epoch = redis.call('HGET', epochKeyOf(stockKey), 'epoch')
  if epoch and epoch ~= v[7] then
    redis.call('HSET', stockKey, 'epoch', epoch)
  end
  local locations = parseLocations(v[6])
  return {sku, tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4]), tonumber(v[5]),
    locations and locationCounters(stockKey, locations) or false, tonumber(epoch or v[7] or 0)}
end
