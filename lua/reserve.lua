#!lua
--[[
  reserve: holds stock for a batch of reservation requests. Each request is decided exactly as if
  it ran alone, in the order given: all its lines or nothing, or with allowPartial every line
  holds what it can. Lines arrive merged (one per SKU). The engine folds the reserves that arrive
  in one event-loop turn into one call: one round trip, one counter write per SKU and one outbox
  entry for all of them. Before deciding on a SKU, its expired holds are swept, so a sold-out SKU
  re-opens the moment abandoned holds expire.

  KEYS[1]  outbox stream
  KEYS[2]  sweep-due index (zset: sku -> earliest hold expiry)
  then for each distinct SKU of the batch: stock hash, expiry index (zset of hold members), buyers
    hash (userId -> units bought, plus units held while the SKU has a per-user limit)
  then for each request, in order: reservation record (string, see includes/reservationRecord.lua),
    and only when the request's key lives in this partition ("+" before its fingerprint) its
    idempotency key (includes/idempotencyBinding.lua; a replay marks it as answered)

  ARGV[1]  idempotency key ttl (ms)   ARGV[2]  record retention after the hold ends (ms)
  ARGV[3]  lazy sweep limit per SKU   ARGV[4]  number of distinct SKUs   ARGV[5]  number of requests
  then the distinct SKUs, in the order of their keys
  then one argument per request, its fields joined by "|" (ids never contain "|"):
    "<reservation id>|<user id>|<order id, empty for none>|<hold ttl ms>|<1 allow partial, 0
     all-or-nothing>|<fingerprint "<key hash>~<body digest>", empty without idempotency key, after a
     "+" when the key is passed here (else the engine claimed it in its user's partition)>|<lines>", lines being
    "<SKU number (1-based, in the list above)>:<qty>", plus "@<location>" when the line names one,
    joined by "," (a SKU may have two lines: one naming a location, one not)
    (one argument instead of seven or more: fewer arguments to encode in Node and unpack here)

  Returns one reply per request, in order:
    {0, createdAtMs, expiresAtMs, reserved_1, ..., reserved_n}   held (a units text, includes/holdUnits.lua,
                                               where the SKU has locations; {reserved, buckets, limited}
                                               for a line of a split SKU's bucket, limited 1 under a
                                               per-user limit: src/redis/bucketRoutes.ts learns them)
    {1, reservationId}                         idempotent replay of an earlier reservation
    {-1, n}                                    SKU_NOT_FOUND (line n)
    {-2, n}                                    SALE_NOT_ACTIVE (line n)
    {-3, n, heldOrBought, limit}               PURCHASE_LIMIT_EXCEEDED (line n)
    {-4, available_1, ..., available_n}        INSUFFICIENT_STOCK; a line of a split SKU's bucket
                                               answers {available, buckets, limited} (the engine then
                                               learns it is split: src/services/bucketRefills.ts)
    {-5}                                       IDEMPOTENCY_KEY_REUSED
    {-15, n}                                   LOCATION_NOT_FOUND (line n names a location the SKU takes no holds in)
    {-17, n}                                   LINE_REQUIRED (line n's SKU has a waiting line: joining it is the way in)
    {-21, n, buckets}                          WRONG_BUCKET (line n names a bucket of a SKU split into `buckets`
                                               under a per-user limit that is not the user's: the
                                               user's count has one home; without a limit any bucket
                                               takes any user's reserve)
]]
local outboxKey, dueKey = KEYS[1], KEYS[2]
local idempotencyTtlMs, retentionMs, sweepLimit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local skuCount, requestCount = tonumber(ARGV[4]), tonumber(ARGV[5])

-- @include "nowMs"
-- @include "idempotencyBinding"
-- @include "sweepExpired"
-- @include "holdMember"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "reservationRecord"
-- @include "takeUnits"
-- @include "saleWindow"
-- @include "partition"

local now = nowMs()
local nowText = string.format('%d', now)

-- Text of the numbers that depend only on a request's hold ttl, formatted once per distinct ttl.
local byTtl = {}
local function ttlTexts(ttlText)
  local texts = byTtl[ttlText]
  if not texts then
    local ttlMs = tonumber(ttlText)
    texts = {expiresAt = now + ttlMs, keepMs = string.format('%d', ttlMs + retentionMs)}
    texts.expiresAtText = string.format('%d', texts.expiresAt)
    byTtl[ttlText] = texts
  end
  return texts
end

-- Each SKU's counters are read on first use (after its lazy sweep), kept here while the requests
-- are decided, and written back once at the end.
local skus = {}
local touched = {}

local function skuState(n)
  local state = skus[n]
  if state then
    return state
  end
  local sku, stockKey, expiryKey, buyersKey = ARGV[5 + n], KEYS[3 * n], KEYS[3 * n + 1], KEYS[3 * n + 2]
  state = {exists = redis.call('EXISTS', stockKey) == 1}
  -- A lined SKU's units go to its line alone: its expired holds are swept with the line served.
  state.lined = state.exists and redis.call('HEXISTS', stockKey, 'lineHoldTtlMs') == 1
  if state.exists and not state.lined then
    sweepExpired(stockKey, expiryKey, buyersKey, outboxKey, sku, now, sweepLimit)
    local v = redis.call('HMGET', stockKey, 'available', 'reserved', 'version', 'perUserLimit', 'startsAt', 'endsAt', 'locations', 'buckets')
    state.available, state.reserved, state.version = tonumber(v[1]), tonumber(v[2]), tonumber(v[3] or '0')
    state.limit, state.startsAt, state.endsAt = tonumber(v[4]), tonumber(v[5]), tonumber(v[6])
    state.buckets = tonumber(v[8])
    -- Held units are counted per user only under a limit (see includes/addBuyerUnits.lua).
    state.stockKey = stockKey
    if v[7] then
      readActiveLocations(state, v[7])
      state.heldByLocation = newAllocationSum()
    end
  end
  state.sku, state.stockKey, state.expiryKey, state.buyersKey = sku, stockKey, expiryKey, buyersKey
  state.buyers, state.buyersChanged, state.holds, state.changed = {}, {}, {}, false
  skus[n] = state
  return state
end

local function buyerUnits(state, userId)
  local units = state.buyers[userId]
  if units == nil then
    units = tonumber(redis.call('HGET', state.buyersKey, userId) or '0')
    state.buyers[userId] = units
  end
  return units
end

-- Decides one request; returns its reply and, when it held stock, its outbox event.
-- `lineArgs` is "<sku number>:<qty>" per line, joined by ",".
local function reserveOne(recordKey, idempotencyKey, reservationId, userId, orderId, ttlText, allowPartial, fingerprint, lineArgs)
  if idempotencyKey then
    local bound = redis.call('GET', idempotencyKey)
    if bound then
      local boundId, boundFingerprint = parseBinding(bound)
      if boundFingerprint ~= fingerprint then
        return {-5}
      end
      markReplayed(idempotencyKey, bound)
      return {1, boundId}
    end
  end

  -- Parallel arrays (state, qty, location, units taken and where, per line): this runs once per
  -- request on the hot path.
  local states, qtys, qtyTexts, locations, held, taken = {}, {}, {}, {}, {}, {}
  local lineCount = 0
  for skuNumber, qtyText, location in string.gmatch(lineArgs, '(%d+):(%d+)@?([^,]*)') do
    lineCount = lineCount + 1
    local n = lineCount
    local state = skuState(tonumber(skuNumber))
    if not state.exists then
      return {-1, n}
    end
    if state.lined then
      return {-17, n}
    end
    if state.buckets and state.limit and not isHomeBucket(state.sku, userId, state.buckets) then
      return {-21, n, state.buckets}
    end
    if not saleOpen(state.startsAt, state.endsAt, now) then
      return {-2, n}
    end
    qtyTexts[n] = qtyText
    states[n], qtys[n] = state, tonumber(qtyText)
    if location ~= '' then
      locations[n] = location
    end
  end

  -- A limit counts every line of its SKU in the request.
  local requested
  for n = 1, lineCount do
    local state = states[n]
    if state.limit then
      local already = buyerUnits(state, userId)
      requested = requested or {}
      requested[state] = (requested[state] or 0) + qtys[n]
      if already + requested[state] > state.limit then
        return {-3, n, already, state.limit}
      end
    end
  end

  local shortfall, anyHeld = false, false
  for n = 1, lineCount do
    local units, allocations = takeUnits(states[n], qtys[n], locations[n])
    if not units then
      for m = n - 1, 1, -1 do
        untakeUnits(states[m], held[m], taken[m])
      end
      return {-15, n}
    end
    held[n], taken[n] = units, allocations
    shortfall = shortfall or units < qtys[n]
    anyHeld = anyHeld or units > 0
  end
  if (shortfall and not allowPartial) or not anyHeld then
    for n = lineCount, 1, -1 do
      untakeUnits(states[n], held[n], taken[n])
    end
    local refusal = {-4}
    for n = 1, lineCount do
      local available = availableFor(states[n], locations[n])
      refusal[n + 1] = states[n].buckets and splitLineUnits(available, states[n].buckets, states[n].limit) or available
    end
    return refusal
  end

  local ttl = ttlTexts(ttlText)
  local expiresAt = ttl.expiresAt
  local reply = {0, now, expiresAt}
  local lineTexts = {}
  -- One hold member per SKU of the request: the SKUs in line order, and their lines' units texts.
  local holdSkus, holdParts = {}, {}
  for n = 1, lineCount do
    local state, reserved, allocations = states[n], held[n], taken[n]
    -- Usually all of the line was held: its text is already at hand.
    local reservedText = allocations and holdUnitsText(reserved, allocations) or (reserved == qtys[n] and qtyTexts[n] or tostring(reserved))
    if reserved > 0 then
      state.reserved = state.reserved + reserved
      if state.limit then
        state.buyers[userId] = buyerUnits(state, userId) + reserved
        state.buyersChanged[userId] = true
      end
      if allocations then
        addAllocations(state.heldByLocation, allocations)
      end
      local parts = holdParts[state]
      if parts then
        parts[#parts + 1] = reservedText
      else
        holdParts[state] = {reservedText}
        holdSkus[#holdSkus + 1] = state
      end
      if not state.changed then
        state.changed = true
        touched[#touched + 1] = state
      end
    end
    reply[3 + n] = (allocations and reservedText) or (state.buckets and splitLineUnits(reserved, state.buckets, state.limit)) or reserved
    lineTexts[n] = recordLineText(state.sku, qtyTexts[n], reservedText)
  end
  for _, state in ipairs(holdSkus) do
    local holds = state.holds
    holds[#holds + 1] = ttl.expiresAtText
    holds[#holds + 1] = holdMember(reservationId, combineHoldUnits(holdParts[state]), userId)
    if not state.earliest or expiresAt < state.earliest then
      state.earliest = expiresAt
    end
  end

  -- A hold's lifetime is its ttl, so the record takes the ttl's own text.
  local record = writeReservationText(recordKey, 'P', nowText, ttlText, '', userId, orderId, table.concat(lineTexts, ','), ttl.keepMs)
  if idempotencyKey then
    redis.call('SET', idempotencyKey, bindingText(reservationId, fingerprint), 'PX', idempotencyTtlMs)
  end
  -- The bulk of the outbox: the record's own text, no second encoding (src/redis/reservationRecord.ts).
  return reply, reserveEventText(reservationId, fingerprint, record)
end

local replies, events = {}, {}
local keyAt = 3 + 3 * skuCount
for r = 1, requestCount do
  local reservationId, userId, orderId, ttlText, partialFlag, fingerprint, lineArgs =
    string.match(ARGV[5 + skuCount + r], '^([^|]+)|([^|]+)|([^|]*)|(%d+)|([01])|([^|]*)|(.+)$')
  local idempotencyKey = false
  if string.sub(fingerprint, 1, 1) == '+' then
    fingerprint = string.sub(fingerprint, 2)
    idempotencyKey = KEYS[keyAt + 1]
  end
  local reply, event = reserveOne(KEYS[keyAt], idempotencyKey, reservationId, userId, orderId, ttlText, partialFlag == '1', fingerprint, lineArgs)
  replies[r] = reply
  events[#events + 1] = event
  keyAt = keyAt + (idempotencyKey and 2 or 1)
end

if #events > 0 then
  local stock = {}
  for _, state in ipairs(touched) do
    state.version = state.version + 1
    redis.call('HSET', state.stockKey, 'available', state.available, 'reserved', state.reserved, 'version', state.version)
    if state.heldByLocation then
      writeTakenUnits(state.stockKey, state.heldByLocation)
    end
    redis.call('ZADD', state.expiryKey, unpack(state.holds))
    -- LT keeps the SKU's earliest expiry (and adds the SKU when it is not indexed yet).
    redis.call('ZADD', dueKey, 'LT', state.earliest, state.sku)
    for userId in pairs(state.buyersChanged) do
      redis.call('HSET', state.buyersKey, userId, state.buyers[userId])
    end
    stock[#stock + 1] = stockSnapshot(state.stockKey, state.sku)
  end
  appendEntry(outboxKey, events, stock)
end
return replies
