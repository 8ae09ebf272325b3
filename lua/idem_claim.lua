#!lua
--[[
  idem_claim: claims an Idempotency-Key in its user's partition before a reserve whose holds are
  made elsewhere (another partition): a duplicate meanwhile sees the claim, and a claim whose
  request died expires on its own. idem_settle then binds the key or lets the claim go.

  KEYS[1]  idempotency key (string "<reservationId>|<fingerprint>" once bound,
           "!|<fingerprint>" while claimed)
  ARGV[1]  fingerprint     ARGV[2]  claim ttl (ms)

  Returns
    {0}                  claimed: go on
    {1, reservationId}   bound to this body already: replay that reservation
    {-5}                 IDEMPOTENCY_KEY_REUSED (bound or claimed with another body)
    {-14}                IDEMPOTENCY_IN_FLIGHT (claimed by a request with this body still running)
]]
local key, fingerprint, claimTtlMs = KEYS[1], ARGV[1], ARGV[2]

local bound = redis.call('GET', key)
if not bound then
  redis.call('SET', key, '!|' .. fingerprint, 'PX', claimTtlMs)
  return {0}
end
local owner, boundFingerprint = string.match(bound, '^([^|]+)|(.*)$')
if boundFingerprint ~= fingerprint then
  return {-5}
end
if owner == '!' then
  return {-14}
end
return {1, owner}
