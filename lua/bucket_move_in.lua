#!lua flags=allow-oom
--[[
  bucket_move_in: the second step of a move between two buckets (src/reconciler/bucketMoves.ts):
  adds the units taken out of the source bucket to the target bucket, once per move whoever runs
  it (the engine that began the move, or the reconciler finishing one it left), and writes a
  MOVE event. The move's marker says it ran; it lives until long after the event is drained,
  and Redis losing it loses the units it added too (a rebuild restores what Postgres knows, and
  Postgres knows the move did not arrive, so it is run again).

  Units of a location arrive in the same location of the target. Should the target no longer
  take holds there (a PUT retired it while the units were on their way), they arrive and leave
  its total at once, as a retired location's returned units do (lua/includes/locations.lua): a
  MOVE and an ADJUST of that location.

  KEYS[1]  target stock hash   KEYS[2]  outbox stream   KEYS[3]  the move's marker
  ARGV[1]  target bucket sku   ARGV[2]  source bucket sku   ARGV[3]  move id
  ARGV[4]  qty (positive)      ARGV[5]  how long the marker lives (ms)
  ARGV[6]  the location the units were taken from ('' from a bucket without locations)

  Returns {0} added   {1} added before   {-1} SKU_NOT_FOUND (the target bucket)
]]
local stockKey, outboxKey, markerKey = KEYS[1], KEYS[2], KEYS[3]
local sku, peer, moveId, qty, markerTtlMs, location = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]

-- @include "nowMs"
-- @include "stockSnapshot"
-- @include "appendEntry"
-- @include "locations"

if redis.call('EXISTS', markerKey) == 1 then
  return {1}
end
if redis.call('EXISTS', stockKey) == 0 then
  return {-1}
end
local now = nowMs()
local located = parseLocations(redis.call('HGET', stockKey, 'locations'))
local events = {}
if not located then
  -- A bucket without locations (one a PUT has not given its locations yet): the units are its own.
  redis.call('HINCRBY', stockKey, 'total', qty)
  redis.call('HINCRBY', stockKey, 'available', qty)
  events[1] = {type = 'MOVE', at = now, sku = sku, delta = qty, move = moveId, peer = peer}
else
  if location == '' then
    location = DEFAULT_LOCATION
  end
  events[1] = {type = 'MOVE', at = now, sku = sku, delta = qty, move = moveId, peer = peer, location = location}
  if isActiveLocation(located, location) then
    redis.call('HINCRBY', stockKey, 'total', qty)
    redis.call('HINCRBY', stockKey, 'available', qty)
    redis.call('HINCRBY', stockKey, locationField(location, 'total'), qty)
    redis.call('HINCRBY', stockKey, locationField(location, 'available'), qty)
  else
    events[2] = {type = 'ADJUST', at = now, sku = sku, delta = -qty, reason = RETIRED_RETURN_REASON, actor = 'engine', location = location}
  end
end
redis.call('HINCRBY', stockKey, 'version', 1)
redis.call('HINCRBY', stockKey, 'totalChanges', 1)
redis.call('SET', markerKey, now, 'PX', markerTtlMs)
appendEntry(outboxKey, events, {stockSnapshot(stockKey, sku)})
return {0}
