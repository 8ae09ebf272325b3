-- The reservation record is one string, written with its TTL in the same SET:
--   "<status>|<createdAt ms>|<expiresAt ms>|<finishedAt ms or empty>|<userId>|<orderId>|<lines>"
-- status P pending, C committed, R released, E expired; lines "sku|qty|reserved" joined by ",".
-- userId and orderId never contain "|" (validated), and lines come last.
local function loadReservation(recordKey)
  local raw = redis.call('GET', recordKey)
  if not raw then
    return nil
  end
  local s, c, e, f, u, o, i = string.match(raw, '^(%a)|(%d+)|(%d+)|(%d*)|([^|]*)|([^|]*)|(.*)$')
  return {s = s, c = tonumber(c), e = tonumber(e), f = f, u = u, o = o, i = i}
end

-- Writes the record, to expire at `expireAtMs` (the hold's end plus the retention window).
local function saveReservation(recordKey, r, expireAtMs)
  local raw = r.s .. '|' .. string.format('%d', r.c) .. '|' .. string.format('%d', r.e) .. '|' .. (r.f or '') .. '|' .. r.u .. '|' .. r.o .. '|' .. r.i
  redis.call('SET', recordKey, raw, 'PXAT', string.format('%d', expireAtMs))
end

-- Reply shape shared by every script that answers with a reservation.
local function reservationReply(code, r)
  return {code, r.s, r.u, r.o, string.format('%d', r.c), string.format('%d', r.e), r.i, r.f or ''}
end

-- Iterates the lines of a record: sku, requested qty, reserved units.
local function recordLines(r)
  local lines = {}
  for sku, qty, reserved in string.gmatch(r.i, '([^|,]+)|(%d+)|(%d+)') do
    lines[#lines + 1] = {sku, tonumber(qty), tonumber(reserved)}
  end
  return lines
end
