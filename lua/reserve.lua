--[[
  reserve: holds stock for one reservation. All lines or nothing, or with allowPartial every line
  holds what it can. Lines arrive merged (one per SKU). Before deciding, each SKU's expired holds
  are swept, so a sold-out SKU re-opens the moment abandoned holds expire.

  KEYS[1]          reservation record (hash)
  KEYS[2]          idempotency key (string "<reservationId>|<fingerprint>"); unused when ARGV[6] is ''
  KEYS[3]          outbox stream
  KEYS[4]          sweep-due index (zset: sku -> earliest hold expiry)
  KEYS[5+3(n-1)]   line n: stock hash
  KEYS[6+3(n-1)]   line n: expiry index (zset of hold members)
  KEYS[7+3(n-1)]   line n: buyers hash (userId -> units held or bought)

  ARGV[1]  reservation id           ARGV[2]  user id          ARGV[3]  order id
  ARGV[4]  hold ttl (ms)            ARGV[5]  '1' allow partial, '0' all-or-nothing
  ARGV[6]  request fingerprint, '' when the request has no idempotency key
  ARGV[7]  idempotency key ttl (ms) ARGV[8]  record retention after the hold ends (ms)
  ARGV[9]  lazy sweep limit per SKU
  ARGV[10+2(n-1)] line n: sku       ARGV[11+2(n-1)] line n: qty

  Returns
    {0, createdAtMs, expiresAtMs, reserved_1, ..., reserved_n}   held
    {1, reservationId}                         idempotent replay of an earlier reservation
    {-1, n}                                    SKU_NOT_FOUND (line n)
    {-2, n}                                    SALE_NOT_ACTIVE (line n)
    {-3, n, heldOrBought, limit}               PURCHASE_LIMIT_EXCEEDED (line n)
    {-4, available_1, ..., available_n}        INSUFFICIENT_STOCK
    {-5}                                       IDEMPOTENCY_KEY_REUSED
]]
local recordKey, idempotencyKey, outboxKey, dueKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local reservationId, userId, orderId = ARGV[1], ARGV[2], ARGV[3]
local ttlMs, allowPartial, fingerprint = tonumber(ARGV[4]), ARGV[5] == '1', ARGV[6]
local idempotencyTtlMs, retentionMs, sweepLimit = ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
local lineCount = (#ARGV - 9) / 2

-- @include "nowMs"
-- @include "sweepExpired"
-- @include "holdMember"
-- @include "addBuyerUnits"
-- @include "stockSnapshot"
-- @include "appendEvent"

if fingerprint ~= '' then
  local bound = redis.call('GET', idempotencyKey)
  if bound then
    local boundId, boundFingerprint = string.match(bound, '^([^|]+)|(.*)$')
    if boundFingerprint ~= fingerprint then
      return {-5}
    end
    return {1, boundId}
  end
end

local now = nowMs()
local lines = {}
for n = 1, lineCount do
  local k = 5 + 3 * (n - 1)
  local sku, qty = ARGV[10 + 2 * (n - 1)], tonumber(ARGV[11 + 2 * (n - 1)])
  local stock = redis.call('HMGET', KEYS[k], 'available', 'perUserLimit', 'startsAt', 'endsAt')
  if not stock[1] then
    return {-1, n}
  end
  local startsAt, endsAt = tonumber(stock[3]), tonumber(stock[4])
  if (startsAt and now < startsAt) or (endsAt and now >= endsAt) then
    return {-2, n}
  end
  lines[n] = {sku = sku, qty = qty, limit = tonumber(stock[2]),
              stockKey = KEYS[k], expiryKey = KEYS[k + 1], buyersKey = KEYS[k + 2]}
end

for _, line in ipairs(lines) do
  sweepExpired(line.stockKey, line.expiryKey, line.buyersKey, outboxKey, line.sku, now, sweepLimit)
end

for n, line in ipairs(lines) do
  if line.limit and line.limit > 0 then
    local already = tonumber(redis.call('HGET', line.buyersKey, userId) or '0')
    if already + line.qty > line.limit then
      return {-3, n, already, line.limit}
    end
  end
end

local shortfall = false
local anyHeld = false
local available = {}
for n, line in ipairs(lines) do
  available[n] = tonumber(redis.call('HGET', line.stockKey, 'available'))
  line.reserved = math.min(line.qty, math.max(available[n], 0))
  if line.reserved < line.qty then
    shortfall = true
  end
  if line.reserved > 0 then
    anyHeld = true
  end
end
if (shortfall and not allowPartial) or not anyHeld then
  return {-4, unpack(available)}
end

local expiresAt = now + ttlMs
local reply = {0, now, expiresAt}
local recordLines = {}
local eventItems = {}
local eventStock = {}
for n, line in ipairs(lines) do
  if line.reserved > 0 then
    redis.call('HINCRBY', line.stockKey, 'available', -line.reserved)
    redis.call('HINCRBY', line.stockKey, 'reserved', line.reserved)
    redis.call('HINCRBY', line.stockKey, 'version', 1)
    addBuyerUnits(line.buyersKey, userId, line.reserved)
    redis.call('ZADD', line.expiryKey, expiresAt, holdMember(reservationId, line.reserved, userId))
    -- LT keeps the SKU's earliest expiry (and adds the SKU when it is not indexed yet).
    redis.call('ZADD', dueKey, 'LT', expiresAt, line.sku)
    eventStock[#eventStock + 1] = stockSnapshot(line.stockKey, line.sku)
  end
  reply[3 + n] = line.reserved
  recordLines[n] = line.sku .. '|' .. line.qty .. '|' .. line.reserved
  eventItems[n] = {line.sku, line.qty, line.reserved}
end

local items = table.concat(recordLines, ',')
redis.call('HSET', recordKey, 's', 'P', 'u', userId, 'o', orderId, 'c', now, 'e', expiresAt, 'i', items)
redis.call('PEXPIREAT', recordKey, expiresAt + retentionMs)
if fingerprint ~= '' then
  redis.call('SET', idempotencyKey, reservationId .. '|' .. fingerprint, 'PX', idempotencyTtlMs)
end
appendEvent(outboxKey, {type = 'RESERVE', at = now, id = reservationId, userId = userId, orderId = orderId,
  createdAt = now, expiresAt = expiresAt, items = eventItems, stock = eventStock})
return reply
