#!lua flags=allow-oom
--[[
  finish_part: applies a spanning reservation's end, decided at its home record, to this
  partition's part of it: 'C' moves the held units to sold, 'R' and 'E' return them. Idempotent:
  a part that already ended (or never existed: the reserve died before it) changes nothing.

  KEYS[1]  this partition's record of the reservation   KEYS[2]  outbox stream
  KEYS[3]  spanning index
  ARGV[1]  reservation id    ARGV[2]  outcome: C, R or E
  ARGV[3]  stock key template      ARGV[4]  expiry index template   ARGV[5]  buyers template
  ARGV[6]  record retention after the reservation ends (ms)
  ARGV[7]  partition count         ARGV[8]  this partition

  Returns {1} ended now, {0} nothing to do
]]
local recordKey, outboxKey, spanningKey = KEYS[1], KEYS[2], KEYS[3]
local reservationId, outcome = ARGV[1], ARGV[2]
-- @include "finishTemplates"
local templates, retentionMs = finishTemplates(3, nil)

-- @include "nowMs"
-- @include "reservationRecord"
-- @include "finishReservation"

redis.call('ZREM', spanningKey, reservationId)
local r = loadReservation(recordKey)
if not r or r.s ~= 'P' then
  return {0}
end
finishReservation(recordKey, outboxKey, reservationId, r, outcome, nowMs(), templates, retentionMs)
return {1}
