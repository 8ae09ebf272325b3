#!lua
--[[
  set_stock: creates a SKU or updates its total, per-user limit and sale window. Expired holds are
  swept first so the check sees what is really held. available becomes total - reserved - sold.

  KEYS[1]  stock hash    KEYS[2]  expiry index    KEYS[3]  buyers hash (held units added from
           the expiry index when a per-user limit is set, taken out when it is removed)
  KEYS[4]  outbox stream KEYS[5]  sweep-due index
  ARGV[1]  sku           ARGV[2]  total
  ARGV[3]  per-user limit ('' for none)
  ARGV[4]  startsAt ms ('' for none)   ARGV[5] endsAt ms ('' for none)
  ARGV[6]  actor         ARGV[7]  lazy sweep limit
  ARGV[8]  1 may create the SKU, 0 only update it (Postgres knows it: Redis lost it, so it must
           be restored from Postgres rather than created anew)

  Returns
    {0 updated | 1 created, total, available, reserved, sold, version}
    {-1}                    SKU_NOT_FOUND (missing, and ARGV[8] is 0)
    {-10, reserved, sold}   TOTAL_BELOW_COMMITTED
]]
local stockKey, expiryKey, buyersKey, outboxKey, dueKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sku, total, perUserLimit, startsAt, endsAt = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local actor, sweepLimit, mayCreate = ARGV[6], tonumber(ARGV[7]), ARGV[8] == '1'

-- @include "nowMs"
-- @include "sweepExpired"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "holdMember"
-- @include "addBuyerUnits"

local now = nowMs()
local created = redis.call('EXISTS', stockKey) == 0
if created and not mayCreate then
  return {-1}
end
local previousTotal = 0
if not created then
  -- Sweeping may need more than one pass when very many holds have expired at once.
  while sweepExpired(stockKey, expiryKey, buyersKey, outboxKey, sku, now, sweepLimit) > 0 do end
  previousTotal = tonumber(redis.call('HGET', stockKey, 'total'))
end
local counts = redis.call('HMGET', stockKey, 'reserved', 'sold')
local reserved, sold = tonumber(counts[1] or '0'), tonumber(counts[2] or '0')
if total < reserved + sold then
  return {-10, reserved, sold}
end
redis.call('HSET', stockKey, 'total', total, 'available', total - reserved - sold,
  'reserved', reserved, 'sold', sold)
redis.call('HINCRBY', stockKey, 'version', 1)
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
local window = {perUserLimit = perUserLimit, startsAt = startsAt, endsAt = endsAt}
for field, value in pairs(window) do
  if value == '' then
    redis.call('HDEL', stockKey, field)
  else
    redis.call('HSET', stockKey, field, value)
  end
end
local snapshot = stockSnapshot(stockKey, sku)
appendEntry(outboxKey, {{type = 'SET', at = now, sku = sku, delta = total - previousTotal, actor = actor,
  perUserLimit = tonumber(perUserLimit), startsAt = tonumber(startsAt), endsAt = tonumber(endsAt)}}, {snapshot})
local code = 0
if created then
  code = 1
end
return {code, snapshot[2], snapshot[3], snapshot[4], snapshot[5], snapshot[6]}
