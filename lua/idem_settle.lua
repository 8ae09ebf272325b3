#!lua flags=allow-oom
--[[
  idem_settle: ends a claim made by idem_claim: binds the key to the reservation the request made,
  or, when it made none (refused), lets the claim go so a retry may succeed. Only the claim of this
  body is touched.

  KEYS[1]  idempotency key
  ARGV[1]  fingerprint     ARGV[2]  reservation id ('' when the request held nothing)
  ARGV[3]  binding ttl (ms)

  Returns {1} settled, {0} the claim was no longer there (it expired): nothing changed
]]
local key, fingerprint, reservationId, ttlMs = KEYS[1], ARGV[1], ARGV[2], ARGV[3]

if redis.call('GET', key) ~= '!|' .. fingerprint then
  return {0}
end
if reservationId == '' then
  redis.call('DEL', key)
else
  redis.call('SET', key, reservationId .. '|' .. fingerprint, 'PX', ttlMs)
end
return {1}
