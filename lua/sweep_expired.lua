#!lua flags=allow-oom
--[[
  sweep_expired: the reconciler's sweep of one SKU. Returns the units of up to `limit` expired
  holds, then re-files the SKU in the sweep-due index under its next expiry (or removes it when
  it has no holds left), so a pass only ever visits SKUs that have something due.

  KEYS[1]  stock hash    KEYS[2]  expiry index    KEYS[3]  buyers hash
  KEYS[4]  outbox stream KEYS[5]  sweep-due index
  ARGV[1]  sku           ARGV[2]  limit (holds per call)
  ARGV[3..11]  the partition's line templates (includes/line.lua): a lined SKU's returned units go
               to its line in the same step

  Returns {holdsReleased, unitsReleased, nextExpiryMs or -1 when the SKU has no hold left to expire}
  (an unknown SKU is dropped from the sweep-due and line-due indexes and answers {0, 0, -1}; a SKU
  without a line from the line-due index)
]]
local stockKey, expiryKey, buyersKey, outboxKey, dueKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sku, limit = ARGV[1], tonumber(ARGV[2])

-- @include "nowMs"
-- @include "sweepExpired"
-- @include "line"

local L = lineOf(sku, stockKey, expiryKey, buyersKey, lineTemplates(3))
if redis.call('EXISTS', stockKey) == 0 then
  redis.call('ZREM', dueKey, sku)
  redis.call('ZREM', L.lineDueKey, sku)
  return {0, 0, -1}
end
local now = nowMs()
local holds, units = sweepExpired(stockKey, expiryKey, buyersKey, outboxKey, sku, now, limit)
local events = {}
if serveLine(L, now, events) then
  appendEntry(outboxKey, events, {stockSnapshot(stockKey, sku)})
elseif not hasLine(stockKey) then
  -- Nothing of a SKU without a line is ever due for the line watch.
  redis.call('ZREM', L.lineDueKey, sku)
end
local next = redis.call('ZRANGE', expiryKey, 0, 0, 'WITHSCORES')
-- Holds of spanning reservations never expire here (score +inf): nothing of them is ever due.
if #next == 0 or next[2] == 'inf' then
  redis.call('ZREM', dueKey, sku)
  return {holds, units, -1}
end
redis.call('ZADD', dueKey, next[2], sku)
return {holds, units, tonumber(next[2])}
