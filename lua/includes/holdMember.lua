-- @include "holdUnits"

-- Expiry-index member of one reservation's hold of one SKU: "<reservationId>|<units text>|<userId>"
-- (units text: includes/holdUnits.lua). It carries what the sweep needs to return the units, so a
-- sweep never reads the reservation record.
local function holdMember(reservationId, unitsText, userId)
  return reservationId .. '|' .. unitsText .. '|' .. userId
end

-- Returns reservationId, units, userId, allocations (nil on a SKU without locations).
local function parseHoldMember(member)
  local reservationId, unitsText, userId = string.match(member, '^([^|]+)|([^|]+)|(.+)$')
  local units, allocations = parseHoldUnits(unitsText)
  return reservationId, units, userId, allocations
end
