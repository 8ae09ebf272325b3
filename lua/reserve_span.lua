#!lua
--[[
  reserve_span: holds one partition's lines of a reservation whose lines span several partitions
  (the engine calls it once per partition, the home last). Decided like reserve.lua's requests,
  but its holds score +inf in the expiry indexes: a spanning reservation ends as a whole, decided
  at its home record and applied to every partition (finish_part.lua), never by a partition's
  sweep. The spanning index says when each is next due: at the home, the reservation's expiry; in
  another partition, a deadline by which the home must exist (else the reserve died half-way and
  the reconciler lets these holds go).

  KEYS[1]  outbox stream   KEYS[2]  spanning index   KEYS[3]  this partition's record of it
  then for each local line: stock hash, expiry index, buyers hash
  ARGV[1]  record retention after the hold ends (ms)    ARGV[2]  lazy sweep limit per SKU
  ARGV[3]  'home' or 'part'    ARGV[4]  reservation id    ARGV[5]  user id    ARGV[6]  order id ('' none)
  ARGV[7]  hold ttl (ms)       ARGV[8]  1 allow partial, 0 all-or-nothing
  ARGV[9]  request fingerprint for the RESERVE event ('' none; home only)
  ARGV[10] part: ms from now by which the home must exist
  ARGV[11] home: the record's lines in request order, joined by ",": "#<n>" for local line n,
           "<sku>|<qty>|<reserved>" for a line held in another partition
  then for each local line: sku, and its qty, plus "@<location>" when the line names one

  Returns
    {0, createdAtMs, expiresAtMs, reserved_1, ..., reserved_n}   held (possibly 0 units of a line;
        a units text, includes/holdUnits.lua, where the SKU has locations)
    {-1, n} SKU_NOT_FOUND   {-2, n} SALE_NOT_ACTIVE   {-3, n, heldOrBought, limit} PURCHASE_LIMIT_EXCEEDED
    {-4, available_1, ..., available_n}   INSUFFICIENT_STOCK (all-or-nothing and a line short); a
        line of a split SKU's bucket answers {available, buckets, limited}
    {-15, n} LOCATION_NOT_FOUND
    {-21, n, buckets} WRONG_BUCKET (line n names a bucket of a split SKU under a per-user limit
        that is not the user's)
]]
local outboxKey, spanningKey, recordKey = KEYS[1], KEYS[2], KEYS[3]
local retentionMs, sweepLimit, role = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local reservationId, userId, orderId, ttlMs = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local allowPartial, fingerprint, partDeadlineMs, layout = ARGV[8] == '1', ARGV[9], tonumber(ARGV[10]), ARGV[11]
local lineCount = (#KEYS - 3) / 3

-- @include "nowMs"
-- @include "sweepExpired"
-- @include "holdMember"
-- @include "addBuyerUnits"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "reservationRecord"
-- @include "takeUnits"
-- @include "saleWindow"
-- @include "partition"

local now = nowMs()
-- One state per SKU: two lines of a SKU (one naming a location) take from the same counters.
local states, lines = {}, {}
for n = 1, lineCount do
  local sku, qty, location = ARGV[10 + 2 * n], string.match(ARGV[11 + 2 * n], '^(%d+)@?(.*)$')
  local state = states[sku]
  if not state then
    local stockKey, expiryKey, buyersKey = KEYS[3 * n + 1], KEYS[3 * n + 2], KEYS[3 * n + 3]
    if redis.call('EXISTS', stockKey) == 0 then
      return {-1, n}
    end
    if redis.call('HEXISTS', stockKey, 'lineHoldTtlMs') == 1 then
      return {-17, n}
    end
    sweepExpired(stockKey, expiryKey, buyersKey, outboxKey, sku, now, sweepLimit)
    local v = redis.call('HMGET', stockKey, 'available', 'perUserLimit', 'startsAt', 'endsAt', 'locations', 'buckets')
    local buckets = tonumber(v[6])
    if buckets and tonumber(v[2]) and not isHomeBucket(sku, userId, buckets) then
      return {-21, n, buckets}
    end
    local startsAt, endsAt = tonumber(v[3]), tonumber(v[4])
    if not saleOpen(startsAt, endsAt, now) then
      return {-2, n}
    end
    state = {sku = sku, available = tonumber(v[1]), limit = tonumber(v[2]), stockKey = stockKey, expiryKey = expiryKey,
      buyersKey = buyersKey, requested = 0, held = 0, parts = {}, buckets = buckets}
    readActiveLocations(state, v[5])
    if state.locations then
      state.heldByLocation = newAllocationSum()
    end
    states[sku] = state
  end
  state.requested = state.requested + tonumber(qty)
  if state.limit then
    local already = tonumber(redis.call('HGET', state.buyersKey, userId) or '0')
    if already + state.requested > state.limit then
      return {-3, n, already, state.limit}
    end
  end
  lines[n] = {state = state, qty = tonumber(qty), location = location ~= '' and location or nil}
end

local shortfall = false
for n, line in ipairs(lines) do
  local units, allocations = takeUnits(line.state, line.qty, line.location)
  if not units then
    return {-15, n}
  end
  line.reserved, line.allocations = units, allocations
  shortfall = shortfall or units < line.qty
end
if shortfall and not allowPartial then
  -- Nothing was written yet: put the units back only to report what each line could see.
  for n = #lines, 1, -1 do
    untakeUnits(lines[n].state, lines[n].reserved, lines[n].allocations)
  end
  local refusal = {-4}
  for n, line in ipairs(lines) do
    local available = availableFor(line.state, line.location)
    refusal[n + 1] = line.state.buckets and splitLineUnits(available, line.state.buckets, line.state.limit) or available
  end
  return refusal
end

local expiresAt = now + ttlMs
local reply, stock, localTexts, held = {0, now, expiresAt}, {}, {}, {}
for n, line in ipairs(lines) do
  local state = line.state
  local text = holdUnitsText(line.reserved, line.allocations)
  if line.reserved > 0 then
    state.held = state.held + line.reserved
    state.parts[#state.parts + 1] = text
    if line.allocations then
      addAllocations(state.heldByLocation, line.allocations)
    end
    if #state.parts == 1 then
      held[#held + 1] = state
    end
  end
  reply[3 + n] = line.allocations and text or line.reserved
  localTexts[n] = recordLineText(state.sku, line.qty, text)
end
for _, state in ipairs(held) do
  redis.call('HINCRBY', state.stockKey, 'available', -state.held)
  redis.call('HINCRBY', state.stockKey, 'reserved', state.held)
  redis.call('HINCRBY', state.stockKey, 'version', 1)
  if state.heldByLocation then
    writeTakenUnits(state.stockKey, state.heldByLocation)
  end
  redis.call('ZADD', state.expiryKey, '+inf', holdMember(reservationId, combineHoldUnits(state.parts), userId))
  if state.limit then
    addBuyerUnits(state.buyersKey, userId, state.held)
  end
end
for _, line in ipairs(lines) do
  if not line.state.snapshotTaken then
    line.state.snapshotTaken = true
    stock[#stock + 1] = stockSnapshot(line.state.stockKey, line.state.sku)
  end
end

local keepMs = string.format('%d', ttlMs + retentionMs)
if role == 'part' then
  writeReservationText(recordKey, 'P', string.format('%d', now), string.format('%d', ttlMs), '', userId, orderId,
    table.concat(localTexts, ','), keepMs)
  redis.call('ZADD', spanningKey, now + partDeadlineMs, reservationId)
  -- The home's RESERVE event carries every line; here only the counters move.
  appendEntry(outboxKey, {}, stock)
  return reply
end

local recordLinesText = string.gsub(layout, '#(%d+)', function(n)
  return localTexts[tonumber(n)]
end)
local record = writeReservationText(recordKey, 'P', string.format('%d', now), string.format('%d', ttlMs), '', userId, orderId,
  recordLinesText, keepMs)
redis.call('ZADD', spanningKey, expiresAt, reservationId)
appendEntry(outboxKey, {reserveEventText(reservationId, fingerprint, record)}, stock)
return reply
