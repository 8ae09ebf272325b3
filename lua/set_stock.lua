#!lua
--[[
  set_stock: creates a SKU or updates its total, per-user limit and sale window. Expired holds are
  swept first so the check sees what is really held. available becomes total - reserved - sold.

  KEYS[1]  stock hash    KEYS[2]  expiry index    KEYS[3]  buyers hash (held units added from
           the expiry index when a per-user limit is set, taken out when it is removed)
  KEYS[4]  outbox stream KEYS[5]  sweep-due index
  ARGV[1]  sku           ARGV[2]  total, or locations in priority order "<location>=<total>,..."
           (includes/locationLevels.lua); a plain total on a SKU with locations makes "default"
           its one active location
  ARGV[3]  per-user limit ('' for none)
  ARGV[4]  startsAt ms ('' for none)   ARGV[5] endsAt ms ('' for none)
  ARGV[6]  actor         ARGV[7]  lazy sweep limit
  ARGV[8]  1 may create the SKU, 0 only update it (Postgres knows it: Redis lost it, so it must
           be restored from Postgres rather than created anew)
  ARGV[9]  the line's hold ttl (ms), '' for no line (its waiting tickets then end CLOSED)
  ARGV[10] the line's lobby (ms before startsAt it opens)
  ARGV[11] buckets the SKU's units are split into (src/domain/buckets.ts), '' for one; written on
           each bucket's hash alike
  ARGV[12..20]  the partition's line templates (includes/line.lua)
  ARGV[21] '1': a bucket of a split SKU with a line other than its first, which must hold nothing
           (src/services/splitSkuWrites.ts, writeLinedSplitSku): taking the line's settings, it refuses
           reserves from then on, so what it holds could only come back out of the line's reach
  ARGV[22] the bucket's count of changes to its total (writes, adjusts, repairs, moves in and out,
           units returned to a retired location) as its write read it ('' for no check): a split
           SKU's write plans each bucket's total from a read, and a move since would make that
           total count its units twice or not at all (src/services/bucketTotals.ts), an adjust
           since would be written over, and what the write changed (undone should it fail) would
           not be its answer minus its read

  Returns
    {0 updated | 1 created, total, available, reserved, sold, version, epoch, outbox entry id, entry
     text (the caller writes its SET movement to Postgres at once), location counters (nil without)}
    {-1}                    SKU_NOT_FOUND (missing, and ARGV[8] is 0)
    {-10, reserved, sold[, location]}   TOTAL_BELOW_COMMITTED (of the SKU, or of that location)
    {-22, reserved}         the bucket holds units (ARGV[21])
    {-23}                   the bucket's total changed since it was read (ARGV[22])

  A location left out of the list keeps its held and sold units and takes no new holds (retired,
  its total shrunk to them); one with nothing held or sold is dropped.
]]
local stockKey, expiryKey, buyersKey, outboxKey, dueKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sku, totalArg, perUserLimit, startsAt, endsAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local actor, sweepLimit, mayCreate = ARGV[6], tonumber(ARGV[7]), ARGV[8] == '1'
local lineHoldTtlMs, lineLobbyMs, buckets = ARGV[9], ARGV[10], ARGV[11]
local holdsNothing, expectedTotalChanges = ARGV[21] == '1', ARGV[22]

-- @include "nowMs"
-- @include "sweepExpired"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "holdMember"
-- @include "addBuyerUnits"
-- @include "locationLevels"
-- @include "line"

-- The located SKU's new levels: the listed locations active in their order, the others retired
-- (or dropped when nothing is held or sold there). `before`: location -> {total, reserved, sold}.
-- Returns levels, reserved per location, dropped locations, and the change of total per location.
local function planLevels(wanted, before, previous)
  local levels, held, dropped, listed = {active = {}, retired = {}}, {}, {}, {}
  for _, want in ipairs(wanted) do
    local was = before[want[1]] or {0, 0, 0}
    levels.active[#levels.active + 1] = {want[1], want[2], was[3]}
    held[want[1]], listed[want[1]] = was[2], true
  end
  for _, location in ipairs(previous) do
    local was = before[location]
    if not listed[location] then
      if was[2] + was[3] > 0 then
        levels.retired[#levels.retired + 1] = {location, was[2] + was[3], was[3]}
        held[location] = was[2]
      else
        dropped[#dropped + 1] = location
      end
    end
  end
  local deltas = {}
  for _, list in ipairs({levels.active, levels.retired}) do
    for _, level in ipairs(list) do
      local delta = level[2] - (before[level[1]] or {0})[1]
      if delta ~= 0 then
        deltas[#deltas + 1] = {level[1], delta}
      end
    end
  end
  for _, location in ipairs(dropped) do
    if before[location][1] ~= 0 then
      deltas[#deltas + 1] = {location, -before[location][1]}
    end
  end
  return levels, held, dropped, deltas
end

local now = nowMs()
local created = redis.call('EXISTS', stockKey) == 0
if created and not mayCreate then
  return {-1}
end
if expectedTotalChanges ~= '' and tonumber(redis.call('HGET', stockKey, 'totalChanges') or 0) ~= tonumber(expectedTotalChanges) then
  return {-23}
end
local previousTotal = 0
if not created then
  -- Sweeping may need more than one pass when very many holds have expired at once.
  while sweepExpired(stockKey, expiryKey, buyersKey, outboxKey, sku, now, sweepLimit) > 0 do end
  previousTotal = tonumber(redis.call('HGET', stockKey, 'total'))
end
local counts = redis.call('HMGET', stockKey, 'reserved', 'sold', 'locations')
local reserved, sold = tonumber(counts[1] or '0'), tonumber(counts[2] or '0')
if holdsNothing and reserved > 0 then
  return {-22, reserved}
end
local located = parseLocations(counts[3])
local wanted = string.find(totalArg, '=') and parseLevelList(totalArg) or nil
local total = tonumber(totalArg)
if total and total < reserved + sold then
  return {-10, reserved, sold}
end
local locationDeltas = nil
if wanted or located then
  -- Per location {total, reserved, sold} as they stand; a SKU without locations holds all in "default".
  local before, previous = {}, {}
  if located then
    for _, row in ipairs(locationCounters(stockKey, located)) do
      before[row[1]] = {row[2], row[4], row[5]}
      previous[#previous + 1] = row[1]
    end
  elseif not created then
    before[DEFAULT_LOCATION] = {previousTotal, reserved, sold}
    previous[1] = DEFAULT_LOCATION
  end
  if not wanted then
    local elsewhere = 0
    for location, was in pairs(before) do
      if location ~= DEFAULT_LOCATION then
        elsewhere = elsewhere + was[2] + was[3]
      end
    end
    wanted = {{DEFAULT_LOCATION, total - elsewhere}}
  end
  local levels, held, dropped, deltas = planLevels(wanted, before, previous)
  local location, locationReserved, locationSold = writeLevels(stockKey, levels, held, dropped, true)
  if location then
    return {-10, locationReserved, locationSold, location}
  end
  locationDeltas = deltas
else
  redis.call('HSET', stockKey, 'total', total, 'available', total - reserved - sold,
    'reserved', reserved, 'sold', sold)
end
redis.call('HINCRBY', stockKey, 'version', 1)
redis.call('HINCRBY', stockKey, 'totalChanges', 1)
-- Held units count toward the buyers hash only while the SKU has a limit (see addBuyerUnits):
-- setting a limit adds what each shopper holds now, removing it takes that out again.
local hadLimit = hasUserLimit(stockKey)
local hasLimit = perUserLimit ~= ''
if hadLimit ~= hasLimit then
  local held = {}
  for _, member in ipairs(redis.call('ZRANGE', expiryKey, 0, -1)) do
    local _, units, userId = parseHoldMember(member)
    held[userId] = (held[userId] or 0) + units
  end
  for userId, units in pairs(held) do
    addBuyerUnits(buyersKey, userId, hasLimit and units or -units)
  end
end
local window = {perUserLimit = perUserLimit, startsAt = startsAt, endsAt = endsAt, buckets = buckets}
for field, value in pairs(window) do
  if value == '' then
    redis.call('HDEL', stockKey, field)
  else
    redis.call('HSET', stockKey, field, value)
  end
end
local events = {{type = 'SET', at = now, sku = sku, delta = 0, actor = actor,
  perUserLimit = tonumber(perUserLimit), startsAt = tonumber(startsAt), endsAt = tonumber(endsAt), buckets = tonumber(buckets),
  locations = locationDeltas, line = lineHoldTtlMs ~= '' and {holdTtlMs = tonumber(lineHoldTtlMs), lobbyMs = tonumber(lineLobbyMs)} or nil}}
local L = lineOf(sku, stockKey, expiryKey, buyersKey, lineTemplates(12))
if lineHoldTtlMs == '' then
  if hasLine(stockKey) then
    -- The line is removed: its waiting tickets end CLOSED, LINE_END_LIMIT now and the rest in the
    -- line watch's next calls (includes/line.lua, closeSome); a ticket read meanwhile is closed then.
    redis.call('HDEL', stockKey, 'lineHoldTtlMs', 'lineLobbyMs')
    closeSome(L, now, events)
    -- A line set again later starts with no tickets: nobody is answered a closed one.
    redis.call('DEL', L.usersKey)
  end
else
  if isClosing(stockKey) then
    closeLine(L, now, events)
  end
  redis.call('HSET', stockKey, 'lineHoldTtlMs', lineHoldTtlMs, 'lineLobbyMs', lineLobbyMs)
  serveLine(L, now, events)
end
local snapshot = stockSnapshot(stockKey, sku)
events[1].delta = snapshot[2] - previousTotal
local entryId, entryText = appendEntry(outboxKey, events, {snapshot})
local code = 0
if created then
  code = 1
end
return {code, snapshot[2], snapshot[3], snapshot[4], snapshot[5], snapshot[6], snapshot[8], entryId, entryText, snapshot[7]}
