-- The buyers hash of a SKU counts, per user, the units bought (committed) and, while the SKU has
-- a per-user limit, also the units held (pending): so a limit counts held plus bought, and a SKU
-- without a limit spends no memory per hold. A field that falls to zero is removed.
local function hasUserLimit(stockKey)
  return redis.call('HEXISTS', stockKey, 'perUserLimit') == 1
end

local function addBuyerUnits(buyersKey, userId, delta)
  local units = redis.call('HINCRBY', buyersKey, userId, delta)
  if units <= 0 then
    redis.call('HDEL', buyersKey, userId)
  end
end
