-- @include "holdMember"

-- Units held by the pending hold lines of one SKU, summed from its expiry index: the fact the
-- `reserved` counter must equal.
local function heldUnits(expiryKey)
  local units = 0
  for _, member in ipairs(redis.call('ZRANGE', expiryKey, 0, -1)) do
    local _, held = parseHoldMember(member)
    units = units + held
  end
  return units
end
