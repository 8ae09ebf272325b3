-- @include "reservationRecord"
-- @include "holdMember"
-- @include "addBuyerUnits"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "partition"

-- Key of one SKU from a template the key module passed in ARGV ("...%s..." with the SKU for %s),
-- so key shapes stay defined in one TypeScript module.
local function skuKey(template, sku)
  local head, tail = string.match(template, '^(.*)%%s(.*)$')
  return head .. sku .. tail
end

-- Ends a pending reservation: 'C' moves its held units to sold; 'R' and 'E' return them to
-- available. A line's units move only if its expiry-index member is still there, so a line a
-- sweep already returned is never returned twice. Only this partition's lines move here
-- (`templates` carries the partition); a spanning reservation's other lines move in their own
-- partitions (finish_part.lua).
local function finishReservation(recordKey, outboxKey, reservationId, r, outcome, now, templates, retentionMs)
  local lines = {}
  local stock = {}
  for _, line in ipairs(recordLines(r)) do
    local sku, reserved = line[1], line[3]
    if reserved > 0 and isLocal(sku, templates) then
      local stockKey = skuKey(templates.stock, sku)
      local removed = redis.call('ZREM', skuKey(templates.expiry, sku), holdMember(reservationId, reserved, r.u))
      if removed == 1 then
        redis.call('HINCRBY', stockKey, 'reserved', -reserved)
        local limited = hasUserLimit(stockKey)
        if outcome == 'C' then
          redis.call('HINCRBY', stockKey, 'sold', reserved)
          -- Bought units always count; under a limit they were already counted while held.
          if not limited then
            addBuyerUnits(skuKey(templates.buyers, sku), r.u, reserved)
          end
        else
          redis.call('HINCRBY', stockKey, 'available', reserved)
          if limited then
            addBuyerUnits(skuKey(templates.buyers, sku), r.u, -reserved)
          end
        end
        redis.call('HINCRBY', stockKey, 'version', 1)
        lines[#lines + 1] = {reservationId, sku, reserved}
        stock[#stock + 1] = stockSnapshot(stockKey, sku)
      end
    end
  end
  local finishedAt = now
  if outcome == 'E' then
    finishedAt = r.e
  end
  r.s = outcome
  r.f = string.format('%d', finishedAt)
  saveReservation(recordKey, r, retentionMs)
  local types = {C = 'COMMIT', R = 'RELEASE', E = 'EXPIRE'}
  appendEntry(outboxKey, {{type = types[outcome], at = now, id = reservationId, lines = lines}}, stock)
  -- A spanning reservation's end is due at once in its other partitions (the engine applies it
  -- there, or the reconciler does after a crash).
  if templates.spanning and spansPartitions(r, templates) then
    redis.call('ZADD', templates.spanning, 0, reservationId)
  end
end
