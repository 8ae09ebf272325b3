#!lua flags=allow-oom
--[[
  idem_revoke: the first step of undoing a reserve answered 503 whose Idempotency-Key lives in
  its user's partition (claimed there by idem_claim): lets go of the key, so a retry holds anew at
  once, unless a retry was already answered with the reservation (then a client knows it and the
  reserve is kept). Only this request's claim or binding is touched.

  KEYS[1]  idempotency key (includes/idempotencyBinding.lua)
  ARGV[1]  fingerprint     ARGV[2]  id of the reservation the request was making

  Returns {0} let go (or nothing of this request's was there): undo the reserve
          {1} kept: a retry was answered with this reservation
]]
local key, fingerprint, reservationId = KEYS[1], ARGV[1], ARGV[2]

-- @include "idempotencyBinding"

local bound = redis.call('GET', key)
local owner, boundFingerprint, replayed = parseBinding(bound)
if boundFingerprint ~= fingerprint then
  return {0}
end
if owner == reservationId and replayed then
  return {1}
end
if owner == reservationId or owner == '!' .. reservationId then
  redis.call('DEL', key)
end
return {0}
