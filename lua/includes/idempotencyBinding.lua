-- The text stored under an Idempotency-Key (its TypeScript twin: src/redis/idempotencyBinding.ts):
--   "<reservationId>|<fingerprint>"      bound to a reservation
--   "<reservationId>|<fingerprint>|R"    bound, and a retry was answered with it (replayed): a
--                                        client knows that reservation, so the undo of a reserve
--                                        answered 503 keeps it (invariant 7,
--                                        docs/reliability.md#7-an-answer-is-a-promise)
--   "!<reservationId>|<fingerprint>"     claimed by the request that will make that reservation
-- The text of a key bound to a reservation.
local function bindingText(reservationId, fingerprint)
  return reservationId .. '|' .. fingerprint
end

-- The text of a key claimed by the request that will make reservation `reservationId`.
local function claimText(reservationId, fingerprint)
  return '!' .. reservationId .. '|' .. fingerprint
end

-- Returns the owner (a reservation id, or "!<id>" for a claim), the fingerprint, and whether a
-- retry was answered with it; nil for no binding.
local function parseBinding(text)
  if not text then
    return nil
  end
  local owner, fingerprint, mark = string.match(text, '^([^|]+)|([^|]*)(.*)$')
  return owner, fingerprint, mark == '|R'
end

-- Marks a binding as answered to a retry (see above); keeps its ttl.
local function markReplayed(key, text)
  if string.sub(text, -2) ~= '|R' then
    redis.call('SET', key, text .. '|R', 'KEEPTTL')
  end
end
