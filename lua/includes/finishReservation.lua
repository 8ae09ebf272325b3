-- @include "reservationRecord"
-- @include "holdMember"
-- @include "addBuyerUnits"
-- @include "locations"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "partition"
-- @include "keyTemplate"
-- @include "line"

-- The holds of a reservation in this partition: one per SKU, {sku, units, units text}, in the
-- order of the record's lines (a SKU named on two lines, with and without a location, has one).
local function localHolds(r, templates)
  local holds, bySku = {}, {}
  for _, line in ipairs(recordLines(r)) do
    local sku, reserved, text = line[1], line[3], line[4]
    if reserved > 0 and isLocal(sku, templates) then
      local hold = bySku[sku]
      if hold then
        hold[2] = hold[2] + reserved
        hold.parts[#hold.parts + 1] = text
      else
        hold = {sku, reserved, text, parts = {text}}
        bySku[sku] = hold
        holds[#holds + 1] = hold
      end
    end
  end
  for _, hold in ipairs(holds) do
    hold[3] = combineHoldUnits(hold.parts)
  end
  return holds
end

-- Ends a pending reservation: 'C' moves its held units to sold; 'R' and 'E' return them to
-- available (per location where they were taken). A hold's units move only if its expiry-index
-- member is still there, so a hold a sweep already returned is never returned twice. Only this
-- partition's holds move here (`templates` carries the partition); a spanning reservation's
-- other holds move in their own partitions (finish_part.lua).
local function finishReservation(recordKey, outboxKey, reservationId, r, outcome, now, templates, retentionMs)
  local lines = {}
  local stock = {}
  local types = {C = 'COMMIT', R = 'RELEASE', E = 'EXPIRE'}
  local events = {{type = types[outcome], at = now, id = reservationId, lines = lines}}
  for _, hold in ipairs(localHolds(r, templates)) do
    local sku, reserved, text = hold[1], hold[2], hold[3]
    local stockKey = fromTemplate(templates.stock, sku)
    local removed = redis.call('ZREM', fromTemplate(templates.expiry, sku), holdMember(reservationId, text, r.u))
    if removed == 1 then
      local _, allocations = parseHoldUnits(text)
      allocations = allocationsOf(reserved, allocations, redis.call('HEXISTS', stockKey, 'locations') == 1)
      local limited = hasUserLimit(stockKey)
      if outcome == 'C' then
        moveUnits(stockKey, reserved, allocations, 'reserved', 'sold')
        -- Bought units always count; under a limit they were already counted while held.
        if not limited then
          addBuyerUnits(fromTemplate(templates.buyers, sku), r.u, reserved)
        end
      else
        returnHeldUnits(stockKey, sku, reserved, allocations, events, now)
        if limited then
          addBuyerUnits(fromTemplate(templates.buyers, sku), r.u, -reserved)
        end
      end
      redis.call('HINCRBY', stockKey, 'version', 1)
      -- Units back (or sold): the SKU's line is served in the same step.
      serveLine(lineOf(sku, stockKey, fromTemplate(templates.expiry, sku), fromTemplate(templates.buyers, sku), templates.lines), now, events)
      lines[#lines + 1] = {reservationId, sku, allocations and holdUnitsText(reserved, allocations) or reserved}
      stock[#stock + 1] = stockSnapshot(stockKey, sku)
    end
  end
  local finishedAt = now
  if outcome == 'E' then
    finishedAt = r.e
  end
  r.s = outcome
  r.f = string.format('%d', finishedAt)
  saveReservation(recordKey, r, retentionMs)
  appendEntry(outboxKey, events, stock)
  -- A spanning reservation's end is due at once in its other partitions (the engine applies it
  -- there, or the reconciler does after a crash).
  if templates.spanning and spansPartitions(r, templates) then
    redis.call('ZADD', templates.spanning, 0, reservationId)
  end
end
