#!lua flags=allow-oom
--[[
  abandon: undoes a reserve that the engine answered 503 because its reply did not come in time.
  If the reserve did run, its hold is released (or expired, past its expiry) and its
  Idempotency-Key binding removed, so a retry with the same key holds anew. A reservation that a
  retry was already answered with (its binding marked replayed, by any engine process) or that is
  committed is kept: a client was told of it (invariant 7,
  docs/reliability.md#7-an-answer-is-a-promise).

  KEYS[1]  reservation record      KEYS[2]  outbox stream    KEYS[3]  spanning index
  KEYS[4]  idempotency key (only when the request carried one and it lives in this partition)
  ARGV[1]  reservation id          ARGV[2..16]  the end arguments (includes/openRecord.lua)

  Returns {code}
    0  undone: the reserve had run; its hold is released (now, or earlier: an earlier attempt
       whose reply was lost, or its expiry) and its binding removed
    1  kept: the reservation is committed
    2  kept: a retry with its Idempotency-Key was answered with it
   -6  RESERVATION_NOT_FOUND: the reserve never ran
]]
-- @include "openRecord"
local idempotencyKey = KEYS[4]
-- @include "appendEntry"
-- @include "idempotencyBinding"

local r = loadReservation(recordKey)
if not r then
  return {-6}
end
if r.s == 'C' then
  return {1}
end
local bound = idempotencyKey and redis.call('GET', idempotencyKey)
local owner, _, replayed = parseBinding(bound)
if owner == reservationId and replayed then
  return {2}
end
local now = nowMs()
if r.s == 'P' then
  finishReservation(recordKey, outboxKey, reservationId, r, now >= r.e and 'E' or 'R', now, templates, retentionMs)
end
if owner == reservationId then
  redis.call('DEL', idempotencyKey)
  appendEntry(outboxKey, {{type = 'UNBIND', at = now, id = reservationId}}, {})
end
return {0}
