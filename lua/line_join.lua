#!lua flags=allow-oom
--[[
  line_join: a shopper joins a SKU's waiting line (includes/line.lua). One ticket per user and
  SKU: a user who joins again is answered the ticket they have. A new ticket may be admitted at
  once, in the same step, when it reaches the head with units available.

  KEYS[1]  stock hash      KEYS[2]  expiry index      KEYS[3]  buyers hash      KEYS[4]  outbox stream
  ARGV[1..9]  the partition's line templates (includes/line.lua, lineTemplates)
  ARGV[10] sku             ARGV[11] ticket id (a reservation id homed in the SKU's partition)
  ARGV[12] userId          ARGV[13] qty               ARGV[14] orderId ('' none)
  ARGV[15] the lobby shuffle's draw, in [0, 1) (used when the ticket joins before startsAt)

  Returns {code, ticket text, position or '', units ahead or '', unitsLeft, ticket id}
    code  0 joined        1 the user's ticket already (nothing changed)
   -1 SKU_NOT_FOUND   -2 SALE_NOT_ACTIVE (before the lobby opens, or after endsAt)
   -3 PURCHASE_LIMIT_EXCEEDED {-3, heldOrBought, limit}   -18 SOLD_OUT {-18, unitsLeft}
   -20 LINE_NOT_FOUND (the SKU has no line)
]]
local stockKey, expiryKey, buyersKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local sku, ticketId, userId, qty, orderId, draw = ARGV[10], ARGV[11], ARGV[12], tonumber(ARGV[13]), ARGV[14], tonumber(ARGV[15])

-- @include "nowMs"
-- @include "ticketReply"
-- @include "stockSnapshot"
-- @include "appendEntry"

if redis.call('EXISTS', stockKey) == 0 then
  return {-1}
end
if not hasLine(stockKey) then
  return {-20}
end
local L = lineOf(sku, stockKey, expiryKey, buyersKey, lineTemplates(1))
local now = nowMs()
local events = {}

local function finish(code, id)
  if #events > 0 then
    appendEntry(outboxKey, events, {stockSnapshot(stockKey, sku)})
  end
  return ticketReply(L, code, id)
end

serveLine(L, now, events)
local existing = redis.call('HGET', L.usersKey, userId)
if existing then
  settleTicket(L, existing, now, events)
  return finish(1, existing)
end

local v = redis.call('HMGET', stockKey, 'total', 'sold', 'startsAt', 'endsAt', 'lineLobbyMs', 'perUserLimit')
local unsold, startsAt, endsAt = tonumber(v[1]) - tonumber(v[2]), tonumber(v[3]), tonumber(v[4])
local lobbyMs, limit = tonumber(v[5]) or 0, tonumber(v[6])
if (startsAt and now < startsAt - lobbyMs) or (endsAt and now >= endsAt) then
  return {-2}
end
if unsold < qty then
  return {-18, unsold}
end
if limit then
  local heldOrBought = tonumber(redis.call('HGET', buyersKey, userId) or 0)
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
local t = {s = 'W', sku = sku, u = userId, q = qty, o = orderId, j = string.format('%d', now), lobby = lobby and '1' or '0', place = place, at = ''}
redis.call('ZADD', L.lineKey, string.format('%.17g', place), ticketId)
redis.call('HSET', L.usersKey, userId, ticketId)
saveTicket(L, ticketId, t)
redis.call('HINCRBY', stockKey, 'lineWaiting', 1)
redis.call('HINCRBY', stockKey, 'version', 1)
noteWantedQty(L, qty)
events[#events + 1] = ticketEvent('JOIN', ticketId, t, now)
serveLine(L, now, events)
return finish(0, ticketId)
