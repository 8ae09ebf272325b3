-- Units a user holds (pending) plus has bought (committed) of one SKU, kept for the per-user
-- limit. A field that falls to zero is removed so idle buyers cost no memory.
local function addBuyerUnits(buyersKey, userId, delta)
  local units = redis.call('HINCRBY', buyersKey, userId, delta)
  if units <= 0 then
    redis.call('HDEL', buyersKey, userId)
  end
end
