-- The reservation record is a hash:
--   s status (P pending, C committed, R released, E expired), u userId, o orderId,
--   c createdAt ms, e expiresAt ms, f finishedAt ms (commit, release or expiry),
--   i lines "sku|qty|reserved" joined by ",".
local function loadReservation(recordKey)
  local v = redis.call('HMGET', recordKey, 's', 'u', 'o', 'c', 'e', 'i', 'f')
  if not v[1] then
    return nil
  end
  return {s = v[1], u = v[2], o = v[3], c = tonumber(v[4]), e = tonumber(v[5]), i = v[6], f = v[7]}
end

-- Reply shape shared by every script that answers with a reservation.
local function reservationReply(code, r)
  return {code, r.s, r.u, r.o, tostring(r.c), tostring(r.e), r.i, r.f or ''}
end

-- Iterates the lines of a record: sku, requested qty, reserved units.
local function recordLines(r)
  local lines = {}
  for sku, qty, reserved in string.gmatch(r.i, '([^|,]+)|(%d+)|(%d+)') do
    lines[#lines + 1] = {sku, tonumber(qty), tonumber(reserved)}
  end
  return lines
end
