#!lua flags=allow-oom
--[[
  line_join: shoppers join the waiting lines of one partition's SKUs (includes/line.lua), many
  joins in one call (src/redis/lineOperations.ts folds those of one event-loop turn), each decided
  on its own, in order, exactly as if it had run alone. One ticket per user and SKU: a user who
  joins again is answered the ticket they have. A new ticket may be admitted at once, in the same
  step, when it reaches the head with units available. One outbox entry for the whole call.

  KEYS[1]  the partition's outbox stream
  KEYS[3s - 1], KEYS[3s], KEYS[3s + 1]  SKU s's stock hash, expiry index and buyers hash (s = 1..ARGV[10])
  ARGV[1..9]  the partition's line templates (includes/line.lua, lineTemplates)
  ARGV[10] how many SKUs the joins name (S)      ARGV[11..10+S] those SKUs, SKU s at ARGV[10 + s]
  then six per join: the SKU's number s, ticket id (a reservation id homed in the partition),
  userId, qty, orderId ('' none), the lobby shuffle's draw in [0, 1) (used before startsAt)

  Returns one reply per join, in their order:
    {code, ticket text, position or '', units ahead or '', unitsLeft, ticket id} (includes/ticketReply.lua)
      code  0 joined        1 the user's ticket already (nothing changed)
    or a refusal:
     {-1} SKU_NOT_FOUND   {-2} SALE_NOT_ACTIVE (before the lobby opens, or after endsAt)
     {-3, heldOrBought, limit} PURCHASE_LIMIT_EXCEEDED   {-18, unitsLeft} SOLD_OUT
     {-20} LINE_NOT_FOUND (the SKU has no line)
]]
local outboxKey = KEYS[1]
local skuCount = tonumber(ARGV[10])
local JOIN_AT = 11 + skuCount

-- @include "nowMs"
-- @include "ticketReply"
-- @include "stockSnapshot"
-- @include "appendEntry"

local now = nowMs()
local templates = lineTemplates(1)
local events = {}
-- Per SKU number, once a join named it: its line, whether it can be joined at all (0, or the
-- refusal's code), whether its line was served since it last changed, and whether it changed.
local skus = {}

local function skuAt(s)
  local entry = skus[s]
  if entry then
    return entry
  end
  local stockKey = KEYS[3 * s - 1]
  entry = {L = lineOf(ARGV[10 + s], stockKey, KEYS[3 * s], KEYS[3 * s + 1], templates), code = 0, served = false, changed = false}
  if redis.call('EXISTS', stockKey) == 0 then
    entry.code = -1
  elseif not hasLine(stockKey) then
    entry.code = -20
  end
  skus[s] = entry
  return entry
end

-- Serves the SKU's line unless nothing changed since it was served at this same `now`.
local function serve(entry)
  if not entry.served then
    serveLine(entry.L, now, events)
    entry.served = true
  end
end

local function join(entry, ticketId, userId, qty, orderId, draw)
  if entry.code ~= 0 then
    return {entry.code}
  end
  local L = entry.L
  local stockKey = L.stockKey
  serve(entry)
  local existing = redis.call('HGET', L.usersKey, userId)
  if existing then
    settleTicket(L, existing, now, events)
    return ticketReply(L, 1, existing)
  end

  local v = redis.call('HMGET', stockKey, 'total', 'sold', 'startsAt', 'endsAt', 'lineLobbyMs', 'perUserLimit', 'lineWaiting')
  local unsold, startsAt, endsAt = tonumber(v[1]) - tonumber(v[2]), tonumber(v[3]), tonumber(v[4])
  local lobbyMs, limit = tonumber(v[5]) or 0, tonumber(v[6])
  if (startsAt and now < startsAt - lobbyMs) or (endsAt and now >= endsAt) then
    return {-2}
  end
  if unsold < qty then
    return {-18, unsold}
  end
  if limit then
    local heldOrBought = tonumber(redis.call('HGET', L.buyersKey, userId) or 0)
    if heldOrBought + qty > limit then
      return {-3, heldOrBought, limit}
    end
  end

  local lobby = startsAt ~= nil and now < startsAt
  local place
  if lobby then
    place = draw - 1
    redis.call('HINCRBY', stockKey, 'lineLobbyUnits', qty)
  else
    place = redis.call('HINCRBY', stockKey, 'lineUnits', qty)
  end
  local t = {s = 'W', sku = L.sku, u = userId, q = qty, o = orderId, j = string.format('%d', now), lobby = lobby and '1' or '0', place = place, at = ''}
  redis.call('ZADD', L.lineKey, string.format('%.17g', place), ticketId)
  redis.call('HSET', L.usersKey, userId, ticketId)
  saveTicket(L, ticketId, t)
  redis.call('HINCRBY', stockKey, 'lineWaiting', 1)
  redis.call('HINCRBY', stockKey, 'version', 1)
  noteWantedQty(L, qty)
  events[#events + 1] = ticketEvent('JOIN', ticketId, t, now)
  -- Only a ticket alone in the line may be admitted now: one behind a waiting ticket is not
  -- admitted before it (strict order), and the line was served at this same time already.
  if tonumber(v[7] or 0) == 0 then
    entry.served = false
    serve(entry)
  end
  return ticketReply(L, 0, ticketId)
end

local replies = {}
for at = JOIN_AT, #ARGV, 6 do
  local entry = skuAt(tonumber(ARGV[at]))
  local before = #events
  replies[#replies + 1] = join(entry, ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3]), ARGV[at + 4], tonumber(ARGV[at + 5]))
  if #events > before then
    entry.changed = true
  end
end
if #events > 0 then
  local stock = {}
  for s = 1, skuCount do
    if skus[s] and skus[s].changed then
      stock[#stock + 1] = stockSnapshot(skus[s].L.stockKey, ARGV[10 + s])
    end
  end
  appendEntry(outboxKey, events, stock)
end
return replies
