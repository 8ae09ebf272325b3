#!lua flags=allow-oom
--[[
  finish_part: applies a spanning reservation's end, decided at its home record, to this
  partition's part of it: 'C' moves the held units to sold, 'R' and 'E' return them. Idempotent:
  a part that already ended (or never existed: the reserve died before it) changes nothing.

  KEYS[1]  this partition's record of the reservation   KEYS[2]  outbox stream
  KEYS[3]  spanning index
  ARGV[1]  reservation id          ARGV[2..16]  the end arguments (includes/openRecord.lua)
  ARGV[17] outcome: C, R or E

  Returns {1} ended now, {0} nothing to do
]]
-- @include "openRecord"
local outcome = ARGV[17]
-- A part's end is the end of the whole, decided at the home: nothing to carry further.
templates.spanning = nil

redis.call('ZREM', spanningKey, reservationId)
local r = loadReservation(recordKey)
if not r or r.s ~= 'P' then
  return {0}
end
finishReservation(recordKey, outboxKey, reservationId, r, outcome, nowMs(), templates, retentionMs)
return {1}
