#!lua flags=allow-oom
--[[
  commit: the payment went through; the reservation's held units become sold. Idempotent.
  A reservation whose expiry has passed (by Redis time) is expired here instead, its units
  returned once, and the commit refused. So is one whose holds a sweep already returned (only
  possible if Redis time stepped back): units that went back on sale are never sold.

  KEYS[1]  reservation record      KEYS[2]  outbox stream    KEYS[3]  spanning index
  ARGV[1]  reservation id          ARGV[2..16]  the end arguments (includes/openRecord.lua)

  Returns {code, record text (see includes/reservationRecord.lua) as it now stands}
    code  0 committed now         1 was already committed (nothing changed)
         -6 RESERVATION_NOT_FOUND (only the code)
         -7 RESERVATION_EXPIRED   -8 RESERVATION_RELEASED
]]
-- @include "openRecord"

local r = loadReservation(recordKey)
if not r then
  return {-6}
end
if r.s == 'C' then
  return reservationReply(1, r)
end
if r.s == 'R' then
  return reservationReply(-8, r)
end
if r.s == 'E' then
  return reservationReply(-7, r)
end
-- Whether every hold still has its expiry-index member (nothing returned it yet).
local function allHeld()
  for _, hold in ipairs(localHolds(r, templates)) do
    if not redis.call('ZSCORE', fromTemplate(templates.expiry, hold[1]), holdMember(reservationId, hold[3], r.u)) then
      return false
    end
  end
  return true
end

local now = nowMs()
if now >= r.e or not allHeld() then
  finishReservation(recordKey, outboxKey, reservationId, r, 'E', now, templates, retentionMs)
  return reservationReply(-7, r)
end
finishReservation(recordKey, outboxKey, reservationId, r, 'C', now, templates, retentionMs)
return reservationReply(0, r)
