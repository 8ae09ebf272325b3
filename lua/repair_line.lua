#!lua flags=allow-oom
--[[
  repair_line: rebuilds a SKU's line counters (includes/line.lua): lineWaiting recounted from
  its line (the sorted set of waiting tickets), lineAdmitted as the admitted tickets Postgres
  recorded. Refuses when the SKU changed since the reconciler read it (its version moved). The
  new version reaches Postgres through an outbox entry with no events.

  KEYS[1]  stock hash     KEYS[2]  the SKU's line     KEYS[3]  outbox stream
  ARGV[1]  version the reconciler read   ARGV[2]  admitted tickets (fact)   ARGV[3]  sku

  Returns
    {0, lineWaiting, lineAdmitted}   repaired
    {-11}                            SKU changed meanwhile; try again next pass
    {-1}                             SKU_NOT_FOUND
]]
local stockKey, lineKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local expectedVersion, admitted, sku = ARGV[1], tonumber(ARGV[2]), ARGV[3]

-- @include "stockSnapshot"
-- @include "appendEntry"

local version = redis.call('HGET', stockKey, 'version')
if version ~= expectedVersion then
  return {version and -11 or -1}
end
local waiting = redis.call('ZCARD', lineKey)
redis.call('HSET', stockKey, 'lineWaiting', waiting, 'lineAdmitted', admitted)
redis.call('HINCRBY', stockKey, 'version', 1)
appendEntry(outboxKey, {}, {stockSnapshot(stockKey, sku)})
return {0, waiting, admitted}
