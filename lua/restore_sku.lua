#!lua
--[[
  restore_sku: cold start. Rebuilds a SKU that Redis lost from what Postgres recorded: its
  settings, sold units, pending holds (expiry index), per-user counts and its waiting line
  (includes/line.lua), which is then served: admission goes on where it stood. Never touches a
  SKU that Redis still has.

  KEYS[1]  stock hash    KEYS[2]  expiry index    KEYS[3]  buyers hash   KEYS[4]  sweep-due index
  KEYS[5]  outbox stream (an ADJUST when a retired location keeps units no hold can take; the
           line's events when serving it admits or ends tickets)
  KEYS[6]  the restore's guard (src/redis/restoreGuard.ts): gone, Redis lost its data since the
           restore read Postgres, and nothing is written
  ARGV[1]  sku           ARGV[2]  total           ARGV[3]  sold
  ARGV[4]  per-user limit ('' none)   ARGV[5] startsAt ms ('' none)   ARGV[6] endsAt ms ('' none)
  ARGV[7]  version (Postgres's)
  ARGV[8]  locations: levels text (includes/locationLevels.lua: total and sold per location), ''
           for a SKU without locations
  ARGV[9]  the line's hold ttl (ms), '' for a SKU without a line (tickets still waiting then end
           CLOSED)      ARGV[10] the line's lobby (ms)
  ARGV[11] buckets the SKU's units are split into ('' for one: src/domain/buckets.ts)
  ARGV[12..20]  the partition's line templates (includes/line.lua, lineTemplates)
  ARGV[21] number of holds H    ARGV[22] number of buyers B    ARGV[23] number of tickets T
  ARGV[24] number of the line's users U
  ARGV[25 ..]  H pairs: hold member "<id>|<units text>|<userId>", expiresAt ms ("+inf" for a
               spanning reservation's)
  then   B pairs: userId, units bought (plus held, when the SKU has a per-user limit)
  then   T pairs: ticket id, ticket text, in order of joining, each at its place in the line
         (src/reconciler/lineRestore.ts); ended tickets too, so they still answer
  then   U pairs: userId, ticket id: the users held to a ticket (none of a line removed since)
  then   to the end, pairs: gone member "<name>|<units>", place: units of tickets Postgres never
         learned of, so that the units ahead of a ticket stay those of real tickets

  Returns {1, reserved} restored, {0} Redis already had the SKU, {-1} the guard is gone
]]
local stockKey, expiryKey, buyersKey, dueKey, outboxKey, guardKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local sku, total, sold = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local levelsText, lineHoldTtlMs, lineLobbyMs = ARGV[8], ARGV[9], ARGV[10]
local holdCount, buyerCount, ticketCount, userCount = tonumber(ARGV[21]), tonumber(ARGV[22]), tonumber(ARGV[23]), tonumber(ARGV[24])
local holdsAt = 25
local buyersAt = holdsAt + 2 * holdCount
local ticketsAt = buyersAt + 2 * buyerCount
local usersAt = ticketsAt + 2 * ticketCount
local gapsAt = usersAt + 2 * userCount

-- @include "holdMember"
-- @include "locationLevels"
-- @include "nowMs"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "line"

-- Puts the line's tickets back: the tickets hash, the line of those waiting by place, the users
-- index, the gone set (tickets no longer waiting, and the units of unknown ones) folded below the
-- head, and the counters.
local function restoreLine(L)
  redis.call('DEL', L.lineKey, L.usersKey, L.goneKey)
  local waiting, admitted, units, lobbyUnits, maxQty = 0, 0, 0, 0, 0
  for n = ticketsAt, usersAt - 1, 2 do
    local id, text = ARGV[n], ARGV[n + 1]
    local t = decodeTicket(text)
    redis.call('HSET', L.ticketsKey, id, text)
    units = math.max(units, t.place)
    if t.s == 'W' then
      waiting, maxQty = waiting + 1, math.max(maxQty, t.q)
      redis.call('ZADD', L.lineKey, string.format('%.17g', t.place), id)
      if t.place < 0 then
        lobbyUnits = lobbyUnits + t.q
      end
    else
      if t.s == 'A' then
        admitted = admitted + 1
      end
      if t.place > 0 then
        redis.call('ZADD', L.goneKey, string.format('%.17g', t.place), id .. '|' .. t.q)
      end
    end
  end
  for n = usersAt, gapsAt - 1, 2 do
    redis.call('HSET', L.usersKey, ARGV[n], ARGV[n + 1])
  end
  for n = gapsAt, #ARGV, 2 do
    redis.call('ZADD', L.goneKey, ARGV[n + 1], ARGV[n])
  end
  redis.call('HSET', stockKey, 'lineWaiting', waiting, 'lineAdmitted', admitted, 'lineUnits', string.format('%d', units),
    'lineGoneUnits', 0, 'lineLobbyUnits', lobbyUnits, 'lineMaxQty', maxQty)
  foldGone(L)
  return waiting
end

if redis.call('EXISTS', guardKey) == 0 then
  return {-1}
end
if redis.call('EXISTS', stockKey) == 1 then
  return {0}
end
redis.call('DEL', expiryKey, buyersKey)
local now = nowMs()
local events = {}
local reserved = 0
local earliest = nil
local members = {}
for n = holdsAt, buyersAt - 1, 2 do
  local member, expiresAt = ARGV[n], tonumber(ARGV[n + 1])
  members[#members + 1] = member
  local _, units = parseHoldMember(member)
  reserved = reserved + units
  redis.call('ZADD', expiryKey, expiresAt, member)
  -- A spanning reservation's holds (+inf) are never due here: only their home ends them.
  if expiresAt < math.huge and (not earliest or expiresAt < earliest) then
    earliest = expiresAt
  end
end
for n = buyersAt, ticketsAt - 1, 2 do
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
  local dropped = writeOffRetired(levels, held, sku, now, events)
  writeLevels(stockKey, levels, held, dropped, false)
end
redis.call('HSET', stockKey, 'version', ARGV[7])
local settings = {perUserLimit = ARGV[4], startsAt = ARGV[5], endsAt = ARGV[6], buckets = ARGV[11]}
for field, value in pairs(settings) do
  if value ~= '' then
    redis.call('HSET', stockKey, field, value)
  end
end
if earliest then
  redis.call('ZADD', dueKey, earliest, sku)
end

local L = lineOf(sku, stockKey, expiryKey, buyersKey, lineTemplates(12))
local waiting = 0
if ticketCount > 0 or lineHoldTtlMs ~= '' then
  waiting = restoreLine(L)
end
if lineHoldTtlMs ~= '' then
  redis.call('HSET', stockKey, 'lineHoldTtlMs', lineHoldTtlMs, 'lineLobbyMs', lineLobbyMs)
  serveLine(L, now, events)
elseif waiting > 0 then
  -- Their line was removed and the CLOSE events lost with Redis's data.
  closeLine(L, now, events)
end
if #events > 0 then
  -- Newer than what Postgres has, so the drain takes these counters (a retired location's
  -- lowered totals, the line's).
  redis.call('HINCRBY', stockKey, 'version', 1)
  appendEntry(outboxKey, events, {stockSnapshot(stockKey, sku)})
end
return {1, reserved}
