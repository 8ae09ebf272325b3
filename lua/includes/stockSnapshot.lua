-- Counters of one SKU after a change, as carried by outbox events:
-- {sku, total, available, reserved, sold, version}.
local function stockSnapshot(stockKey, sku)
  local v = redis.call('HMGET', stockKey, 'total', 'available', 'reserved', 'sold', 'version')
  return {sku, tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4]), tonumber(v[5])}
end
