#!lua flags=allow-oom
--[[
  release: the shopper gave up; held units return to available at once. Idempotent.
  A reservation whose expiry has passed (by Redis time) is expired instead (units returned
  once) and reported as such.

  KEYS[1]  reservation record      KEYS[2]  outbox stream    KEYS[3]  spanning index
  ARGV[1]  reservation id          ARGV[2..16]  the end arguments (includes/openRecord.lua)

  Returns {code, record text (see includes/reservationRecord.lua) as it now stands}
    code  0 released now          1 was already released (nothing changed)
          2 expired (now or earlier)
         -6 RESERVATION_NOT_FOUND (only the code)
         -9 RESERVATION_COMMITTED
]]
-- @include "openRecord"

local r = loadReservation(recordKey)
if not r then
  return {-6}
end
if r.s == 'C' then
  return reservationReply(-9, r)
end
if r.s == 'R' then
  return reservationReply(1, r)
end
if r.s == 'E' then
  return reservationReply(2, r)
end
local now = nowMs()
if now >= r.e then
  finishReservation(recordKey, outboxKey, reservationId, r, 'E', now, templates, retentionMs)
  return reservationReply(2, r)
end
finishReservation(recordKey, outboxKey, reservationId, r, 'R', now, templates, retentionMs)
return reservationReply(0, r)
