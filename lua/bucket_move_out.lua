#!lua
--[[
  bucket_move_out: the first step of moving units between two buckets of a SKU
  (src/reconciler/bucketMoves.ts): takes qty available units out of the source bucket, counts
  them as moving out of it until the move is done (so that a count of the SKU's units over every
  bucket still sees them), records the move as pending in the source's partition, and writes a
  MOVE event. Expired holds are swept first. A bucket with a waiting line gives no units: a split
  SKU's line runs in its first bucket, and the others sell nothing while it lasts
  (src/services/splitSkuWrites.ts, writeLinedSplitSku), so its units are the line's. On a bucket with
  locations the units are one active location's, and move to the same location of the target.

  KEYS[1]  source stock hash   KEYS[2]  its expiry index   KEYS[3]  its buyers hash
  KEYS[4]  outbox stream       KEYS[5]  the partition's pending moves (hash id -> move text)
  ARGV[1]  source bucket sku   ARGV[2]  target bucket sku   ARGV[3]  move id
  ARGV[4]  qty (positive)      ARGV[5]  lazy sweep limit
  ARGV[6]  the location the units are taken from ('' on a bucket without locations)

  Returns
    {0, entryId, entryText}   taken out: the outbox entry its MOVE event is in
    {-1}                      SKU_NOT_FOUND (the source bucket)
    {-4, available}           INSUFFICIENT_STOCK (the source has fewer units available, at the
                              location; 0 for a source with a line, or whose locations are not
                              as the move names them)
]]
local stockKey, expiryKey, buyersKey, outboxKey, pendingKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sku, peer, moveId, qty, sweepLimit, location = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]

-- @include "nowMs"
-- @include "sweepExpired"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "line"
-- @include "locations"

if redis.call('EXISTS', stockKey) == 0 then
  return {-1}
end
if hasLine(stockKey) then
  return {-4, 0}
end
local now = nowMs()
while sweepExpired(stockKey, expiryKey, buyersKey, outboxKey, sku, now, sweepLimit) > 0 do end
local located = parseLocations(redis.call('HGET', stockKey, 'locations'))
local availableField = 'available'
if located then
  if not isActiveLocation(located, location) then
    return {-4, 0}
  end
  availableField = locationField(location, 'available')
elseif location ~= '' then
  return {-4, 0}
end
local available = tonumber(redis.call('HGET', stockKey, availableField) or 0)
if available < qty then
  return {-4, available}
end
redis.call('HINCRBY', stockKey, 'total', -qty)
redis.call('HINCRBY', stockKey, 'available', -qty)
if located then
  redis.call('HINCRBY', stockKey, locationField(location, 'total'), -qty)
  redis.call('HINCRBY', stockKey, availableField, -qty)
end
redis.call('HINCRBY', stockKey, 'movingOut', qty)
redis.call('HINCRBY', stockKey, 'totalChanges', 1)
redis.call('HINCRBY', stockKey, 'version', 1)
redis.call('HSET', pendingKey, moveId, table.concat({sku, peer, qty, now, location}, '|'))
local events = {{type = 'MOVE', at = now, sku = sku, delta = -qty, move = moveId, peer = peer, location = located and location or nil}}
local entryId, text = appendEntry(outboxKey, events, {stockSnapshot(stockKey, sku)})
return {0, entryId, text}
