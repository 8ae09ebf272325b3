#!lua
--[[
  restore_sku: cold start. Rebuilds a SKU that Redis lost from what Postgres recorded: its
  settings, sold units, pending holds (expiry index) and per-user counts. Never touches a SKU that
  Redis still has.

  KEYS[1]  stock hash    KEYS[2]  expiry index    KEYS[3]  buyers hash   KEYS[4]  sweep-due index
  KEYS[5]  outbox stream (an ADJUST when a retired location keeps units no hold can take)
  ARGV[1]  sku           ARGV[2]  total           ARGV[3]  sold
  ARGV[4]  per-user limit ('' none)   ARGV[5] startsAt ms ('' none)   ARGV[6] endsAt ms ('' none)
  ARGV[7]  version (Postgres's)
  ARGV[8]  locations: levels text (includes/locationLevels.lua: total and sold per location), ''
           for a SKU without locations
  ARGV[9]  number of holds H
  ARGV[10 ..]        H pairs: hold member "<id>|<units text>|<userId>", expiresAt ms ("+inf" for a spanning reservation's)
  ARGV[10 + 2H ..]   pairs: userId, units bought (plus held, when the SKU has a per-user limit)

  Returns {1, reserved} restored, {0} Redis already had the SKU
]]
local stockKey, expiryKey, buyersKey, dueKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sku, total, sold = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local levelsText, holdCount = ARGV[8], tonumber(ARGV[9])

-- @include "holdMember"
-- @include "locationLevels"
-- @include "nowMs"
-- @include "stockSnapshot"
-- @include "appendEntry"

if redis.call('EXISTS', stockKey) == 1 then
  return {0}
end
redis.call('DEL', expiryKey, buyersKey)
local reserved = 0
local earliest = nil
local members = {}
for n = 0, holdCount - 1 do
  local member, expiresAt = ARGV[10 + 2 * n], tonumber(ARGV[11 + 2 * n])
  members[#members + 1] = member
  local _, units = parseHoldMember(member)
  reserved = reserved + units
  redis.call('ZADD', expiryKey, expiresAt, member)
  -- A spanning reservation's holds (+inf) are never due here: only their home ends them.
  if expiresAt < math.huge and (not earliest or expiresAt < earliest) then
    earliest = expiresAt
  end
end
for n = 10 + 2 * holdCount, #ARGV, 2 do
  redis.call('HSET', buyersKey, ARGV[n], ARGV[n + 1])
end
-- A total read from a row the drain had not brought up to date may lie below the units sold and
-- held that Postgres recorded. Those units existed when they were taken (Redis never lets sold
-- exceed total): the total is raised to them, never restored oversold.
if levelsText == '' then
  total = math.max(total, reserved + sold)
  redis.call('HSET', stockKey, 'total', total, 'available', total - reserved - sold, 'reserved', reserved, 'sold', sold)
else
  local levels, held = parseLevels(levelsText), heldByLocation(members, true)
  for _, list in ipairs({levels.active, levels.retired}) do
    for _, level in ipairs(list) do
      level[2] = math.max(level[2], (held[level[1]] or 0) + level[3])
    end
  end
  local events = {}
  local dropped = writeOffRetired(levels, held, sku, nowMs(), events)
  writeLevels(stockKey, levels, held, dropped, false)
  redis.call('HSET', stockKey, 'version', ARGV[7])
  if #events > 0 then
    -- Newer than what Postgres has, so the drain takes the lowered totals.
    redis.call('HINCRBY', stockKey, 'version', 1)
    appendEntry(outboxKey, events, {stockSnapshot(stockKey, sku)})
  end
end
redis.call('HSETNX', stockKey, 'version', ARGV[7])
local settings = {perUserLimit = ARGV[4], startsAt = ARGV[5], endsAt = ARGV[6]}
for field, value in pairs(settings) do
  if value ~= '' then
    redis.call('HSET', stockKey, field, value)
  end
end
if earliest then
  redis.call('ZADD', dueKey, earliest, sku)
end
return {1, reserved}
