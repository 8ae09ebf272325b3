-- The reservation record is one string, written with its TTL in the same PSETEX:
--   "<status>|<createdAt ms>|<lifetime ms>|<finishedAt ms or empty>|<userId>|<orderId>|<lines>"
-- status P pending, C committed, R released, E expired; lifetime is expiresAt - createdAt (short,
-- so a typical record fits Redis's 44-byte embedded strings); lines "sku|qty|reserved" joined by
-- ",", reserved being a units text (includes/holdUnits.lua: a number unless the SKU has locations). userId and orderId never contain "|" (validated), and lines come last. Scripts answer
-- with the record's own text, and RESERVE outbox events carry it: src/redis/reservationRecord.ts
-- is the one TypeScript reader of it.
local function loadReservation(recordKey)
  local raw = redis.call('GET', recordKey)
  if not raw then
    return nil
  end
  local s, c, l, f, u, o, i = string.match(raw, '^(%a)|(%d+)|(-?%d+)|(%d*)|([^|]*)|([^|]*)|(.*)$')
  c = tonumber(c)
  return {s = s, c = c, e = c + tonumber(l), f = f, u = u, o = o, i = i, raw = raw}
end

-- Writes a record from its fields as text, to expire `keepMs` (text) from now: when the hold ends
-- plus the retention window. Returns the record's text. The reserve script formats each number
-- once per batch (number-to-text conversion is a measurable part of its time).
local function writeReservationText(recordKey, status, createdAt, lifetime, finishedAt, userId, orderId, lines, keepMs)
  local raw = status .. '|' .. createdAt .. '|' .. lifetime .. '|' .. finishedAt .. '|' .. userId .. '|' .. orderId .. '|' .. lines
  redis.call('PSETEX', recordKey, keepMs, raw)
  return raw
end

-- One line of a record's lines: "sku|qty|reserved" (reserved a units text).
local function recordLineText(sku, qtyText, unitsText)
  return sku .. '|' .. qtyText .. '|' .. unitsText
end

-- A RESERVE outbox event: "<id>[~<fingerprint>]|<record text>" (src/redis/idempotencyBinding.ts reads
-- it). A bound Idempotency-Key travels with it, so Postgres can restore the binding after Redis
-- lost its data.
local function reserveEventText(reservationId, fingerprint, record)
  local head = fingerprint ~= '' and (reservationId .. '~' .. fingerprint) or reservationId
  return head .. '|' .. record
end

-- Writes a loaded (and changed) record, to expire `keepMs` from now.
local function saveReservation(recordKey, r, keepMs)
  r.raw = writeReservationText(recordKey, r.s, string.format('%d', r.c), string.format('%d', r.e - r.c), r.f or '', r.u, r.o,
    r.i, string.format('%d', keepMs))
end

-- Reply shape shared by every script that answers with a reservation: {code, record text}.
local function reservationReply(code, r)
  return {code, r.raw}
end

-- Iterates the lines of a record: sku, requested qty, reserved units, their units text.
local function recordLines(r)
  local lines = {}
  for sku, qty, reserved in string.gmatch(r.i, '([^|,]+)|(%d+)|([^|,]+)') do
    lines[#lines + 1] = {sku, tonumber(qty), tonumber(string.match(reserved, '^%d+')), reserved}
  end
  return lines
end
