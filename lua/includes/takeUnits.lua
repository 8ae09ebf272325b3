-- @include "locations"

-- Reads what a reserve needs of a SKU's locations into `state` (its counters as the calling script
-- read them): nil locations for a SKU without any; else the active ones in priority order and
-- `free` (location -> available units) for them.
local function readActiveLocations(state, locationsText)
  local locations = parseLocations(locationsText)
  if not locations then
    return
  end
  state.locations, state.free = locations.active, {}
  for _, location in ipairs(locations.active) do
    state.free[location] = tonumber(redis.call('HGET', state.stockKey, locationField(location, 'available')))
  end
end

-- Units a line could take now: of its location, or of every active one.
local function availableFor(state, location)
  if not state.locations then
    return math.max(state.available, 0)
  end
  if location then
    return math.max(state.free[location] or 0, 0)
  end
  local units = 0
  for _, name in ipairs(state.locations) do
    units = units + math.max(state.free[name], 0)
  end
  return units
end

-- Takes up to `qty` units for one line out of `state`: from the location it names; else from the
-- first active location that holds the whole line; else spread over the active locations in
-- priority order. Returns the units taken and where ({location, n} list; nil without locations),
-- or nil when the line names a location the SKU takes no holds in.
local function takeUnits(state, qty, location)
  if not state.locations then
    if location and location ~= DEFAULT_LOCATION then
      return nil
    end
    local taken = math.min(qty, math.max(state.available, 0))
    state.available = state.available - taken
    return taken, nil
  end
  local free = state.free
  local order = state.locations
  if location then
    if not free[location] then
      return nil
    end
    order = {location}
  else
    for _, name in ipairs(order) do
      if free[name] >= qty then
        order = {name}
        break
      end
    end
  end
  local taken, allocations = 0, {}
  for _, name in ipairs(order) do
    local n = math.min(qty - taken, math.max(free[name], 0))
    if n > 0 then
      free[name] = free[name] - n
      taken = taken + n
      allocations[#allocations + 1] = {name, n}
    end
    if taken == qty then
      break
    end
  end
  state.available = state.available - taken
  return taken, allocations
end

-- Puts back what takeUnits took (a request refused after some of its lines took units).
local function untakeUnits(state, taken, allocations)
  state.available = state.available + taken
  for _, allocation in ipairs(allocations or {}) do
    state.free[allocation[1]] = state.free[allocation[1]] + allocation[2]
  end
end

-- Writes a located SKU's per-location changes of held units: available down, reserved up.
local function writeTakenUnits(stockKey, heldByLocation)
  for _, entry in ipairs(heldByLocation.list) do
    redis.call('HINCRBY', stockKey, locationField(entry[1], 'available'), -entry[2])
    redis.call('HINCRBY', stockKey, locationField(entry[1], 'reserved'), entry[2])
  end
end
