-- Expiry-index member of one hold line: "<reservationId>|<units>|<userId>". It carries what the
-- sweep needs to return the units, so a sweep never reads the reservation record.
local function holdMember(reservationId, units, userId)
  return reservationId .. '|' .. units .. '|' .. userId
end

local function parseHoldMember(member)
  local reservationId, units, userId = string.match(member, '^([^|]+)|(%d+)|(.+)$')
  return reservationId, tonumber(units), userId
end
