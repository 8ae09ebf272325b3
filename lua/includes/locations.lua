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
