#!lua flags=allow-oom
--[[
  idem_settle: ends a claim made by idem_claim: binds the key to the reservation the request made,
  or, when it made none (refused), lets the claim go so a retry may succeed. Only the claim of this
  body is touched.

  KEYS[1]  idempotency key
  ARGV[1]  fingerprint     ARGV[2]  reservation id (the one named by the claim)
  ARGV[3]  binding ttl (ms)          ARGV[4]  1 to bind, 0 when the request held nothing

  Returns {1} settled, {0} the claim was no longer there (it expired): nothing changed
]]
local key, fingerprint, reservationId, ttlMs, bind = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]

-- @include "idempotencyBinding"

if redis.call('GET', key) ~= claimText(reservationId, fingerprint) then
  return {0}
end
if bind == '0' then
  redis.call('DEL', key)
else
  redis.call('SET', key, bindingText(reservationId, fingerprint), 'PX', ttlMs)
end
return {1}
