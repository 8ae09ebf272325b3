-- @include "locations"

-- Writing a located SKU's counters whole: by set_stock (a PUT), restore_sku (cold start) and
-- repair_stock (drift repair). A level is {location, total, sold}; `levels` = {active = {...},
-- retired = {...}}. The text form, "<location>=<total>:<sold>,..." then "/" and the retired ones,
-- is written by src/redis/stockHash.ts (encodeLevels).

-- "<location>=<total>[:<sold>],...": {{location, total, sold or 0}, ...}.
local function parseLevelList(text)
  local list = {}
  for entry in string.gmatch(text, '[^,]+') do
    local location, total, sold = string.match(entry, '^([^=]+)=(%d+):?(%d*)$')
    list[#list + 1] = {location, tonumber(total), tonumber(sold) or 0}
  end
  return list
end

local function parseLevels(text)
  local active, retired = string.match(text, '^([^/]*)/?(.*)$')
  return {active = parseLevelList(active), retired = parseLevelList(retired)}
end

-- Units held per location ({location -> n}) by the hold members of one SKU's expiry index.
local function heldByLocation(members, located)
  local held = {}
  for _, member in ipairs(members) do
    local units, allocations = parseHoldUnits(string.match(member, '^[^|]+|([^|]+)|'))
    for _, allocation in ipairs(allocationsOf(units, allocations, located) or {}) do
      held[allocation[1]] = (held[allocation[1]] or 0) + allocation[2]
    end
  end
  return held
end

-- Writes every location's four counters, the SKU's sums and the locations list; drops the fields
-- of `dropped` locations. `held` gives reserved per location. Returns nil, or (when `check`) the
-- first location whose total is below its reserved + sold, with those two; then nothing is written.
local function writeLevels(stockKey, levels, held, dropped, check)
  for _, list in ipairs({levels.active, levels.retired}) do
    for _, level in ipairs(list) do
      local reserved = held[level[1]] or 0
      if check and level[2] < reserved + level[3] then
        return level[1], reserved, level[3]
      end
    end
  end
  for _, location in ipairs(dropped or {}) do
    for _, counter in ipairs(LOCATION_COUNTERS) do
      redis.call('HDEL', stockKey, locationField(location, counter))
    end
  end
  local sums = {total = 0, available = 0, reserved = 0, sold = 0}
  local names = {active = {}, retired = {}}
  for _, kind in ipairs({'active', 'retired'}) do
    for _, level in ipairs(levels[kind]) do
      local location, total, sold = level[1], level[2], level[3]
      local counters = {total = total, reserved = held[location] or 0, sold = sold}
      counters.available = total - counters.reserved - sold
      for _, counter in ipairs(LOCATION_COUNTERS) do
        redis.call('HSET', stockKey, locationField(location, counter), counters[counter])
        sums[counter] = sums[counter] + counters[counter]
      end
      names[kind][#names[kind] + 1] = location
    end
  end
  redis.call('HSET', stockKey, 'total', sums.total, 'available', sums.available, 'reserved', sums.reserved,
    'sold', sums.sold, 'locations', formatLocations(names.active, names.retired))
  return nil
end

-- Why a rebuild or repair lowers a retired location's total: units of holds Redis lost with its
-- data come back without a release (their holds are simply gone), and a retired location takes no
-- holds, so they could never be held again.
local LOST_HOLDS_REASON = 'units of holds lost with Redis data leave a retired location'

-- Before levels are written: a retired location keeps only what is held or sold there. Units of
-- its total beyond those leave it (and the SKU), each with an ADJUST event by the engine appended
-- to `events`, so `available` is what a reserve can hold. A retired location left with nothing
-- held or sold leaves the SKU: returns those locations (for writeLevels' `dropped`).
local function writeOffRetired(levels, held, sku, now, events)
  local kept, dropped = {}, {}
  for _, level in ipairs(levels.retired) do
    local location, total, sold = level[1], level[2], level[3]
    local reserved = held[location] or 0
    if total > reserved + sold then
      level[2] = reserved + sold
      events[#events + 1] = {type = 'ADJUST', at = now, sku = sku, delta = reserved + sold - total, reason = LOST_HOLDS_REASON,
        actor = 'engine', location = location}
    end
    if reserved + sold > 0 then
      kept[#kept + 1] = level
    else
      dropped[#dropped + 1] = location
    end
  end
  levels.retired = kept
  return dropped
end
