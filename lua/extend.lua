#!lua
--[[
  extend: moves a pending reservation's expiry to now + ttl, never past createdAt + max lifetime.

  KEYS[1]  reservation record      KEYS[2]  outbox stream
  KEYS[3]  spanning index (a spanning reservation's expiry is kept there, not on its holds)
  KEYS[4]  sweep-due index
  ARGV[1]  reservation id          ARGV[2..16]  the end arguments (includes/openRecord.lua)
  ARGV[17] ttl (ms)                ARGV[18] max lifetime from createdAt (ms)

  Returns {code, record text (see includes/reservationRecord.lua) as it now stands}
    code  0 extended
         -6 RESERVATION_NOT_FOUND (only the code)
         -7 RESERVATION_EXPIRED (expired now or earlier; units returned once)
         -8 RESERVATION_RELEASED  -9 RESERVATION_COMMITTED
]]
-- @include "openRecord"
local dueKey = KEYS[4]
local ttlMs, maxLifetimeMs = tonumber(ARGV[17]), tonumber(ARGV[18])
-- @include "holdMember"
-- @include "appendEntry"

local r = loadReservation(recordKey)
if not r then
  return {-6}
end
local refusals = {C = -9, R = -8, E = -7}
if refusals[r.s] then
  return reservationReply(refusals[r.s], r)
end
local now = nowMs()
if now >= r.e then
  finishReservation(recordKey, outboxKey, reservationId, r, 'E', now, templates, retentionMs)
  return reservationReply(-7, r)
end
local expiresAt = math.min(now + ttlMs, r.c + maxLifetimeMs)
local spanning = spansPartitions(r, templates)
if spanning then
  redis.call('ZADD', templates.spanning, 'XX', expiresAt, reservationId)
end
-- A spanning reservation's holds keep their +inf score: its expiry lives in the spanning index.
if not spanning then
  for _, hold in ipairs(localHolds(r, templates)) do
    redis.call('ZADD', fromTemplate(templates.expiry, hold[1]), 'XX', expiresAt, holdMember(reservationId, hold[3], r.u))
    -- A shorter hold must still be swept on time: keep the SKU's earliest expiry in the index.
    redis.call('ZADD', dueKey, 'LT', expiresAt, hold[1])
  end
end
r.e = expiresAt
saveReservation(recordKey, r, expiresAt - now + retentionMs)
appendEntry(outboxKey, {{type = 'EXTEND', at = now, id = reservationId, expiresAt = expiresAt}}, {})
return reservationReply(0, r)
