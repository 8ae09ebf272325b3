-- @include "holdUnits"

-- Stock locations of a SKU. A SKU created with a plain total has one implicit location, "default",
-- whose counters are the SKU's own: no extra field, nothing more to read on the hot path. A SKU
-- given locations has, in its stock hash, "locations" = the active ones in priority order, then
-- "/" and those left out of the last PUT (they keep what is held and sold there, take no new
-- holds), each list joined by ","; and per location "<location>|total", "|available",
-- "|reserved", "|sold". The SKU's own counters are then their sums.
local DEFAULT_LOCATION = 'default'
local LOCATION_COUNTERS = {'total', 'available', 'reserved', 'sold'}

local function locationField(location, counter)
  return location .. '|' .. counter
end

local function splitNames(text)
  local names = {}
  for name in string.gmatch(text, '[^,]+') do
    names[#names + 1] = name
  end
  return names
end

-- Parses the "locations" field: {active = {...}, retired = {...}}, or nil for a SKU without locations.
local function parseLocations(text)
  if not text then
    return nil
  end
  local active, retired = string.match(text, '^([^/]*)/?(.*)$')
  return {active = splitNames(active), retired = splitNames(retired)}
end

-- Whether a location takes holds (is listed active) on a located SKU.
local function isActiveLocation(locations, location)
  for _, name in ipairs(locations.active) do
    if name == location then
      return true
    end
  end
  return false
end

local function formatLocations(active, retired)
  local text = table.concat(active, ',')
  if #retired > 0 then
    text = text .. '/' .. table.concat(retired, ',')
  end
  return text
end

-- The allocations of held units as the SKU stands: none on a SKU without locations (whatever a
-- restored or older hold says, its units are the SKU's own); "default" for a hold made before
-- its SKU had locations.
local function allocationsOf(units, allocations, located)
  if not located then
    return nil
  end
  return allocations or {{DEFAULT_LOCATION, units}}
end

-- Moves `units` of one SKU from counter `from` to counter `to` ('available', 'reserved' or
-- 'sold'), in the SKU's own counters and per location (allocations: nil without locations).
local function moveUnits(stockKey, units, allocations, from, to)
  redis.call('HINCRBY', stockKey, from, -units)
  redis.call('HINCRBY', stockKey, to, units)
  for _, allocation in ipairs(allocations or {}) do
    redis.call('HINCRBY', stockKey, locationField(allocation[1], from), -allocation[2])
    redis.call('HINCRBY', stockKey, locationField(allocation[1], to), allocation[2])
  end
end

-- Counters of every location of a located SKU, active ones first:
-- {{location, total, available, reserved, sold, 1 active | 0 retired}, ...}.
local function locationCounters(stockKey, locations)
  local rows = {}
  for kind, list in ipairs({locations.active, locations.retired}) do
    for _, location in ipairs(list) do
      local v = redis.call('HMGET', stockKey, locationField(location, 'total'), locationField(location, 'available'),
        locationField(location, 'reserved'), locationField(location, 'sold'))
      rows[#rows + 1] = {location, tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4]), 2 - kind}
    end
  end
  return rows
end

-- Why a retired location's total shrinks: what its ended holds returned can never be held again.
local RETIRED_RETURN_REASON = 'units returned to a retired location leave its total'

-- Returns the held units of an ended hold to the shelf, per location where they were taken
-- (allocations: nil on a SKU without locations). A retired location takes no holds, so what comes
-- back to it could never be held again: those units leave its total and the SKU's instead, each
-- with an ADJUST event appended to `events` (the audit trail, and Postgres's totals), so
-- `available` always equals what a reserve can hold. A retired location left with nothing held or
-- sold leaves the SKU.
local function returnHeldUnits(stockKey, sku, units, allocations, events, now)
  local located = allocations and parseLocations(redis.call('HGET', stockKey, 'locations'))
  if not located or #located.retired == 0 then
    moveUnits(stockKey, units, allocations, 'reserved', 'available')
    return
  end
  local retired = {}
  for _, location in ipairs(located.retired) do
    retired[location] = true
  end
  local kept, writtenOff = {}, 0
  for _, allocation in ipairs(allocations) do
    local location, held = allocation[1], allocation[2]
    if retired[location] then
      redis.call('HINCRBY', stockKey, locationField(location, 'reserved'), -held)
      redis.call('HINCRBY', stockKey, locationField(location, 'total'), -held)
      writtenOff = writtenOff + held
      events[#events + 1] = {type = 'ADJUST', at = now, sku = sku, delta = -held, reason = RETIRED_RETURN_REASON,
        actor = 'engine', location = location}
    else
      kept[#kept + 1] = allocation
    end
  end
  if writtenOff == 0 then
    moveUnits(stockKey, units, kept, 'reserved', 'available')
    return
  end
  -- (Never HINCRBY by -0: Redis refuses "-0" as an integer, and a script stopped half-way keeps what it wrote.)
  if units > writtenOff then
    moveUnits(stockKey, units - writtenOff, kept, 'reserved', 'available')
  end
  redis.call('HINCRBY', stockKey, 'reserved', -writtenOff)
  redis.call('HINCRBY', stockKey, 'total', -writtenOff)
  redis.call('HINCRBY', stockKey, 'totalChanges', 1)
  local stillRetired = {}
  for _, location in ipairs(located.retired) do
    local left = redis.call('HMGET', stockKey, locationField(location, 'reserved'), locationField(location, 'sold'))
    if tonumber(left[1]) + tonumber(left[2]) > 0 then
      stillRetired[#stillRetired + 1] = location
    else
      for _, counter in ipairs(LOCATION_COUNTERS) do
        redis.call('HDEL', stockKey, locationField(location, counter))
      end
    end
  end
  redis.call('HSET', stockKey, 'locations', formatLocations(located.active, stillRetired))
end
