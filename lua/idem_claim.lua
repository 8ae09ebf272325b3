#!lua
--[[
  idem_claim: claims an Idempotency-Key in its user's partition before a reserve whose holds are
  made elsewhere (another partition): a duplicate meanwhile sees the claim, and a claim whose
  request died expires on its own. idem_settle then binds the key or lets the claim go.

  KEYS[1]  idempotency key (includes/idempotencyBinding.lua)
  ARGV[1]  fingerprint     ARGV[2]  claim ttl (ms)     ARGV[3]  id of the reservation the request will make

  Returns
    {0}                  claimed: go on
    {1, reservationId}   bound to this body already: replay that reservation (the binding is
                         marked as answered, so the undo of its reserve keeps it)
    {-5}                 IDEMPOTENCY_KEY_REUSED (bound or claimed with another body)
    {-14}                IDEMPOTENCY_IN_FLIGHT (claimed by a request with this body still running)
]]
local key, fingerprint, claimTtlMs, reservationId = KEYS[1], ARGV[1], ARGV[2], ARGV[3]

-- @include "idempotencyBinding"

local bound = redis.call('GET', key)
if not bound then
  redis.call('SET', key, claimText(reservationId, fingerprint), 'PX', claimTtlMs)
  return {0}
end
local owner, boundFingerprint = parseBinding(bound)
if boundFingerprint ~= fingerprint then
  return {-5}
end
if string.sub(owner, 1, 1) == '!' then
  return {-14}
end
markReplayed(key, bound)
return {1, owner}
