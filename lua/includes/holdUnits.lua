-- The units one reservation holds of one SKU, as text: "<units>" on a SKU without locations (its
-- one implicit location, "default"), else "<units>@<location>=<n>;<location>=<n>..." in the order
-- the units were taken. Hold members and record lines carry it, so whoever ends a hold knows
-- where its units go back; src/redis/holdUnits.ts is the one TypeScript reader of it.
local function holdUnitsText(units, allocations)
  if not allocations or units == 0 then
    return string.format('%d', units)
  end
  local parts = {}
  for i, allocation in ipairs(allocations) do
    parts[i] = allocation[1] .. '=' .. string.format('%d', allocation[2])
  end
  return string.format('%d', units) .. '@' .. table.concat(parts, ';')
end

-- Returns the units and the allocations ({location, n} in order; nil without locations).
local function parseHoldUnits(text)
  local units, rest = string.match(text, '^(%d+)@?(.*)$')
  if rest == '' then
    return tonumber(units), nil
  end
  local allocations = {}
  for location, n in string.gmatch(rest, '([^;=]+)=(%d+)') do
    allocations[#allocations + 1] = {location, tonumber(n)}
  end
  return tonumber(units), allocations
end

-- An empty tally of units per location: {location, n} entries in first-seen order, and an index.
local function newAllocationSum()
  return {list = {}, index = {}}
end

-- Adds allocations into `sum` ({location, n} list, first-seen order, plus `index` location -> entry).
local function addAllocations(sum, allocations)
  for _, allocation in ipairs(allocations) do
    local entry = sum.index[allocation[1]]
    if entry then
      entry[2] = entry[2] + allocation[2]
    else
      entry = {allocation[1], allocation[2]}
      sum.index[allocation[1]] = entry
      sum.list[#sum.list + 1] = entry
    end
  end
end

-- One SKU's units over several lines of a reservation (a line naming a location beside one that
-- does not): the text of their one hold member. Reserve and finish compute it the same way.
local function combineHoldUnits(parts)
  if #parts == 1 then
    return parts[1]
  end
  local units, sum, located = 0, newAllocationSum(), false
  for _, text in ipairs(parts) do
    local n, allocations = parseHoldUnits(text)
    units = units + n
    if allocations then
      located = true
      addAllocations(sum, allocations)
    end
  end
  return holdUnitsText(units, located and sum.list or nil)
end
