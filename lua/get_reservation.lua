#!lua flags=no-writes
--[[
  get_reservation: reads a reservation record together with Redis time, so "pending but past its
  expiry" is decided by the same clock that decides expiry everywhere else. Changes nothing.

  KEYS[1]  reservation record
  Returns {0, record text (see includes/reservationRecord.lua), nowMs}
          {-6}   RESERVATION_NOT_FOUND
]]
-- @include "nowMs"
-- @include "reservationRecord"

local r = loadReservation(KEYS[1])
if not r then
  return {-6}
end
local reply = reservationReply(0, r)
reply[#reply + 1] = tostring(nowMs())
return reply
