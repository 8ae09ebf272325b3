-- @include "reservationRecord"
-- @include "holdMember"
-- @include "addBuyerUnits"
-- @include "takeUnits"
-- @include "keyTemplate"
-- @include "sweepExpired"

-- Waiting lines (docs/api.md#waiting-lines-fair-queues-for-hot-skus). A SKU has a line while its
-- stock hash has "lineHoldTtlMs" (and "lineLobbyMs"). Its keys, from the templates the engine
-- passes (src/redis/keys.ts, lineKeyTemplates):
--   line      sorted set ticket id -> place. A ticket joined in the lobby (before startsAt) waits
--             at a random place in (-1, 0): the shuffle is drawn at join. At the first line call
--             after startsAt the lobby is promoted: its tickets, in that random order, get the
--             places 1.. as a running sum of the units they want, and every later join takes the
--             running sum on ("lineUnits"). So a place is the units wanted up to and including
--             that ticket, and the units ahead of a ticket are its place minus its qty minus what
--             left ahead of it.
--   users     hash userId -> ticket id (one ticket per user and SKU)
--   gone      sorted set "<id>|<qty>" -> place, of tickets that left from behind the head; folded
--             into the stock hash's "lineGoneUnits" once the head passes them
--   tickets   the partition's hash ticket id -> ticket text:
--             "<status>|<sku>|<userId>|<qty>|<orderId>|<joinedAt ms>|<lobby 1/0>|<place>|<at ms>"
--             status W waiting, A admitted, S sold out, L left, C closed; at: when it ended or was
--             admitted ('' while waiting). src/redis/lineTicket.ts is its TypeScript reader.
-- Stock hash counters: lineWaiting, lineAdmitted, lineUnits (running sum), lineGoneUnits,
-- lineLobbyUnits (units of lobby tickets not yet promoted).
-- Line events go to the outbox with the others: JOIN, ADMIT (with the hold's RESERVE text),
-- LEAVE, SOLD_OUT, CLOSE.

local TICKET_PATTERN = '^(%a)|([^|]+)|([^|]+)|(%d+)|([^|]*)|(%d+)|([01])|([^|]*)|(%d*)$'

local function decodeTicket(text)
  if not text then
    return nil
  end
  local s, sku, u, q, o, j, lobby, place, at = string.match(text, TICKET_PATTERN)
  return {s = s, sku = sku, u = u, q = tonumber(q), o = o, j = j, lobby = lobby, place = tonumber(place), at = at}
end

local function encodeTicket(t)
  return table.concat({t.s, t.sku, t.u, tostring(t.q), t.o, t.j, t.lobby, string.format('%.17g', t.place), t.at}, '|')
end

-- How many waiting tickets one script call ends or looks at at most, per line (L.endBudget). The
-- rest are left to further calls: the line stays filed in the line-due index, due at once, and the
-- line watch (src/services/lineWatch.ts) serves it again until none is left; a ticket read
-- meanwhile ends its own ticket (settleTicket). So no script blocks its shard for long, however
-- long the line.
local LINE_END_LIMIT = 500

-- The line keys of one SKU, and what is left of its LINE_END_LIMIT in this call. `templates`:
-- {line, users, gone, tickets, record, sweepDue, outbox, lineDue, retentionMs}.
local function lineOf(sku, stockKey, expiryKey, buyersKey, templates)
  return {sku = sku, stockKey = stockKey, expiryKey = expiryKey, buyersKey = buyersKey,
    lineKey = fromTemplate(templates.line, sku), usersKey = fromTemplate(templates.users, sku),
    goneKey = fromTemplate(templates.gone, sku), ticketsKey = templates.tickets, recordTemplate = templates.record,
    dueKey = templates.sweepDue, outboxKey = templates.outbox, lineDueKey = templates.lineDue, retentionMs = templates.retentionMs,
    endBudget = LINE_END_LIMIT}
end

-- How many of a lined SKU's expired holds one serving of its line returns at most.
local LINE_SWEEP_LIMIT = 100

-- Reads the line templates from ARGV[first..first+8] (src/redis/scriptCalls.ts, lineArgs).
local function lineTemplates(first)
  return {line = ARGV[first], users = ARGV[first + 1], gone = ARGV[first + 2], tickets = ARGV[first + 3],
    record = ARGV[first + 4], sweepDue = ARGV[first + 5], outbox = ARGV[first + 6], lineDue = ARGV[first + 7],
    retentionMs = tonumber(ARGV[first + 8])}
end

-- Files the line in the line-due index under the earliest expiry of its SKU's holds (or takes it
-- out when none is left), so the engine serves it as soon as a hold's time runs out; due now while
-- tickets may remain to end (`unsettled`).
local function fileLineDue(L, now, unsettled)
  local next = redis.call('ZRANGE', L.expiryKey, 0, 0, 'WITHSCORES')
  if unsettled then
    redis.call('ZADD', L.lineDueKey, now, L.sku)
  elseif #next == 0 or next[2] == 'inf' then
    redis.call('ZREM', L.lineDueKey, L.sku)
  else
    redis.call('ZADD', L.lineDueKey, next[2], L.sku)
  end
end

local function hasLine(stockKey)
  return redis.call('HEXISTS', stockKey, 'lineHoldTtlMs') == 1
end

-- A removed line whose waiting tickets are still being ended CLOSED, LINE_END_LIMIT a call.
local function isClosing(stockKey)
  return redis.call('HEXISTS', stockKey, 'lineClosing') == 1
end

local function saveTicket(L, id, t)
  redis.call('HSET', L.ticketsKey, id, encodeTicket(t))
end

local function ticketEvent(kind, id, t, now)
  return {type = kind, at = now, ticket = id, sku = t.sku, userId = t.u, qty = t.q, orderId = t.o, place = t.place,
    lobby = t.lobby == '1', joinedAt = tonumber(t.j)}
end

-- Folds the tickets that left ahead of the head into lineGoneUnits.
local function foldGone(L)
  local head = redis.call('ZRANGE', L.lineKey, 0, 0, 'WITHSCORES')
  local bound = head[2] and ('(' .. head[2]) or '+inf'
  local gone = redis.call('ZRANGEBYSCORE', L.goneKey, '-inf', bound)
  if #gone == 0 then
    return
  end
  local units = 0
  for _, member in ipairs(gone) do
    units = units + tonumber(string.match(member, '|(%d+)$'))
  end
  redis.call('HINCRBY', L.stockKey, 'lineGoneUnits', units)
  redis.call('ZREMRANGEBYSCORE', L.goneKey, '-inf', bound)
end

local END_KINDS = {S = 'SOLD_OUT', L = 'LEAVE', C = 'CLOSE'}

-- Takes waiting tickets out of the line, ending them with `status` ('S', 'L' or 'C'), in a few
-- commands whatever their number. `ids` and `ts` (their decoded texts) in the same order.
local function endTickets(L, ids, ts, status, now, events)
  if #ids == 0 then
    return
  end
  redis.call('ZREM', L.lineKey, unpack(ids))
  -- A ticket ending ahead of the new head is folded into lineGoneUnits at once (foldGone would
  -- fold it next); one behind it stays in the gone set for the units ahead of those after it.
  local head = redis.call('ZRANGE', L.lineKey, 0, 0, 'WITHSCORES')
  local headPlace = head[2] and tonumber(head[2]) or math.huge
  local gone, fields, lobbyUnits, folded, at = {}, {}, 0, 0, string.format('%d', now)
  for i, id in ipairs(ids) do
    local t = ts[i]
    if t.place < 0 then
      lobbyUnits = lobbyUnits + t.q
    elseif t.place < headPlace then
      folded = folded + t.q
    else
      gone[#gone + 1] = string.format('%.17g', t.place)
      gone[#gone + 1] = id .. '|' .. t.q
    end
    t.s, t.at = status, at
    fields[#fields + 1] = id
    fields[#fields + 1] = encodeTicket(t)
    events[#events + 1] = ticketEvent(END_KINDS[status], id, t, now)
  end
  redis.call('HINCRBY', L.stockKey, 'lineWaiting', -#ids)
  if lobbyUnits > 0 then
    redis.call('HINCRBY', L.stockKey, 'lineLobbyUnits', -lobbyUnits)
  end
  if folded > 0 then
    redis.call('HINCRBY', L.stockKey, 'lineGoneUnits', folded)
  end
  if #gone > 0 then
    redis.call('ZADD', L.goneKey, unpack(gone))
  end
  redis.call('HSET', L.ticketsKey, unpack(fields))
end

local function endTicket(L, id, t, status, now, events)
  endTickets(L, {id}, {t}, status, now, events)
end

-- The decoded texts of tickets `ids`, in one read.
local function readTickets(L, ids)
  local ts = {}
  if #ids > 0 then
    for i, text in ipairs(redis.call('HMGET', L.ticketsKey, unpack(ids))) do
      ts[i] = decodeTicket(text)
    end
  end
  return ts
end

-- A join of `qty` units: the largest a waiting ticket wants only grows (a settling pass that is
-- under way counts it too, whatever its place), so no ticket is missed by the check that skips
-- settling while every ticket could still be served.
local function noteWantedQty(L, qty)
  local v = redis.call('HMGET', L.stockKey, 'lineMaxQty', 'lineSettleFrom', 'lineSettleMax')
  if qty > tonumber(v[1] or 0) then
    redis.call('HSET', L.stockKey, 'lineMaxQty', qty)
  end
  if v[2] and qty > tonumber(v[3] or 0) then
    redis.call('HSET', L.stockKey, 'lineSettleMax', qty)
  end
end

-- At the first line call after startsAt: the lobby's tickets, in their random order, take the
-- places 1.. as the running sum of their units.
local function promoteLobby(L, now)
  local v = redis.call('HMGET', L.stockKey, 'lineLobbyUnits', 'startsAt')
  local startsAt = tonumber(v[2])
  if tonumber(v[1] or 0) == 0 and redis.call('ZCOUNT', L.lineKey, '-inf', '(0') == 0 then
    return
  end
  if startsAt and now < startsAt then
    return
  end
  local lobby = redis.call('ZRANGEBYSCORE', L.lineKey, '-inf', '(0')
  local sum = tonumber(redis.call('HGET', L.stockKey, 'lineUnits') or 0)
  for _, id in ipairs(lobby) do
    local t = decodeTicket(redis.call('HGET', L.ticketsKey, id))
    sum = sum + t.q
    t.place = sum
    redis.call('ZADD', L.lineKey, sum, id)
    saveTicket(L, id, t)
  end
  redis.call('HSET', L.stockKey, 'lineUnits', sum, 'lineLobbyUnits', 0)
end

-- Where a waiting ticket stands: its position (1 at the head) and the units wanted ahead of it;
-- nil, nil for a lobby ticket before the shuffle.
local function standing(L, id, t)
  if t.place < 0 then
    return nil, nil
  end
  local rank = redis.call('ZRANK', L.lineKey, id)
  local folded = tonumber(redis.call('HGET', L.stockKey, 'lineGoneUnits') or 0)
  local goneAhead = 0
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', L.goneKey, '-inf', '(' .. string.format('%.17g', t.place))) do
    goneAhead = goneAhead + tonumber(string.match(member, '|(%d+)$'))
  end
  return rank + 1, t.place - t.q - folded - goneAhead
end

-- Holds units for the ticket at the head: an ordinary pending reservation whose id is the
-- ticket's, expiring holdTtlMs from now.
local function admit(L, id, t, state, holdTtlMs, now, events)
  local taken, allocations = takeUnits(state, t.q, nil)
  redis.call('HINCRBY', L.stockKey, 'available', -taken)
  redis.call('HINCRBY', L.stockKey, 'reserved', taken)
  if allocations then
    local held = newAllocationSum()
    addAllocations(held, allocations)
    writeTakenUnits(L.stockKey, held)
  end
  local unitsText = allocations and holdUnitsText(taken, allocations) or tostring(taken)
  local expiresAt = now + holdTtlMs
  redis.call('ZADD', L.expiryKey, expiresAt, holdMember(id, unitsText, t.u))
  redis.call('ZADD', L.dueKey, 'LT', expiresAt, L.sku)
  if hasUserLimit(L.stockKey) then
    addBuyerUnits(L.buyersKey, t.u, taken)
  end
  local record = writeReservationText(fromTemplate(L.recordTemplate, id), 'P', string.format('%d', now), string.format('%d', holdTtlMs), '',
    t.u, t.o, recordLineText(L.sku, tostring(t.q), unitsText), string.format('%d', holdTtlMs + L.retentionMs))
  redis.call('ZREM', L.lineKey, id)
  redis.call('HINCRBY', L.stockKey, 'lineWaiting', -1)
  redis.call('HINCRBY', L.stockKey, 'lineAdmitted', 1)
  redis.call('HINCRBY', L.stockKey, 'lineGoneUnits', t.q)
  t.s, t.at = 'A', string.format('%d', now)
  saveTicket(L, id, t)
  events[#events + 1] = reserveEventText(id, '', record)
  events[#events + 1] = ticketEvent('ADMIT', id, t, now)
end

-- Ends the waiting tickets that can no longer be served, as many as L.endBudget allows (returns
-- whether some may remain): every one once the sale ended (CLOSED), else one wanting more units
-- than remain unsold (SOLD_OUT: nothing can ever come back to it). Finding those takes a pass over
-- the line in place order, skipped while the largest wanted (lineMaxQty) fits in the unsold units;
-- a pass longer than one call goes on where it stopped (lineSettleFrom, a place) in the next, and
-- starts again when the unsold units changed meanwhile (lineSettleFor). A finished pass lowers
-- lineMaxQty to the largest it kept (lineSettleMax).
local function settleUnservable(L, unsold, closed, now, events)
  local budget = L.endBudget
  if budget <= 0 then
    return true
  end
  if closed then
    local ids = redis.call('ZRANGE', L.lineKey, 0, budget - 1)
    endTickets(L, ids, readTickets(L, ids), 'C', now, events)
    L.endBudget = budget - #ids
    return #ids == budget
  end
  local v = redis.call('HMGET', L.stockKey, 'lineMaxQty', 'lineSettleFrom', 'lineSettleFor', 'lineSettleMax')
  local from, keptMax = v[2], tonumber(v[4] or 0)
  if from and tonumber(v[3]) ~= unsold then
    from = nil
  end
  if not from then
    if unsold >= tonumber(v[1] or 0) then
      return false
    end
    keptMax = 0
  end
  local rows = redis.call('ZRANGEBYSCORE', L.lineKey, from and ('(' .. from) or '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, budget)
  local ids = {}
  for n = 1, #rows, 2 do
    ids[#ids + 1] = rows[n]
  end
  L.endBudget = budget - #ids
  local ts, endIds, endTs = readTickets(L, ids), {}, {}
  for i, id in ipairs(ids) do
    if ts[i].q > unsold then
      endIds[#endIds + 1], endTs[#endTs + 1] = id, ts[i]
    elseif ts[i].q > keptMax then
      keptMax = ts[i].q
    end
  end
  endTickets(L, endIds, endTs, 'S', now, events)
  if #ids < budget then
    redis.call('HSET', L.stockKey, 'lineMaxQty', keptMax)
    redis.call('HDEL', L.stockKey, 'lineSettleFrom', 'lineSettleFor', 'lineSettleMax')
    return false
  end
  redis.call('HSET', L.stockKey, 'lineSettleFrom', rows[#rows], 'lineSettleFor', unsold, 'lineSettleMax', keptMax)
  return true
end

-- Ends CLOSED what is left of L.endBudget of a removed line's waiting tickets. While some remain
-- the SKU is marked closing ("lineClosing") and due at once, so the line watch goes on call after
-- call (serveLine); the last call clears what is left of the line. Returns whether some remain.
local function closeSome(L, now, events)
  local more = settleUnservable(L, 0, true, now, events)
  if more then
    redis.call('HSET', L.stockKey, 'lineClosing', 1)
    redis.call('ZADD', L.lineDueKey, now, L.sku)
  else
    redis.call('HDEL', L.stockKey, 'lineClosing', 'lineSettleFrom', 'lineSettleFor', 'lineSettleMax')
    redis.call('ZREM', L.lineDueKey, L.sku)
    foldGone(L)
  end
  return more
end

-- Ends every waiting ticket CLOSED in this call, however many: a rebuild's, and a line set again
-- while the one removed before is still closing (the new line starts with no tickets).
local function closeLine(L, now, events)
  repeat
    L.endBudget = LINE_END_LIMIT
  until not closeSome(L, now, events)
end

-- Admits the head tickets while the SKU has units for them, strictly in line order (a ticket
-- wanting 2 is not passed by one wanting 1), and ends those that can no longer be served
-- (L.endBudget at most). Called by every script that makes units available or sells them, in the
-- same atomic step. Appends the line's events to `events`; returns whether anything changed.
local function serveLine(L, now, events)
  local before = #events
  if not hasLine(L.stockKey) then
    if not isClosing(L.stockKey) then
      return false
    end
    closeSome(L, now, events)
    if #events > before then
      redis.call('HINCRBY', L.stockKey, 'version', 1)
      return true
    end
    return false
  end
  -- Holds whose time ran out return their units first (their EXPIRE entry appended by the sweep).
  sweepExpired(L.stockKey, L.expiryKey, L.buyersKey, L.outboxKey, L.sku, now, LINE_SWEEP_LIMIT)
  promoteLobby(L, now)
  local v = redis.call('HMGET', L.stockKey, 'total', 'sold', 'available', 'locations', 'lineHoldTtlMs', 'endsAt')
  local unsold, holdTtlMs, endsAt = tonumber(v[1]) - tonumber(v[2]), tonumber(v[5]), tonumber(v[6])
  local closed = endsAt ~= nil and now >= endsAt
  if not closed then
    local state = {stockKey = L.stockKey, available = tonumber(v[3])}
    readActiveLocations(state, v[4])
    while L.endBudget > 0 do
      local head = redis.call('ZRANGE', L.lineKey, 0, 0, 'WITHSCORES')
      if #head == 0 or tonumber(head[2]) < 0 then
        break
      end
      local id = head[1]
      local t = decodeTicket(redis.call('HGET', L.ticketsKey, id))
      if t.q > unsold then
        -- The head can no longer be served: it ends with the others that cannot, in bulk (its
        -- place comes first in the pass), then the next head is looked at.
        settleUnservable(L, unsold, false, now, events)
        if redis.call('ZSCORE', L.lineKey, id) then
          endTicket(L, id, t, 'S', now, events)
          L.endBudget = L.endBudget - 1
        end
      elseif availableFor(state, nil) >= t.q then
        admit(L, id, t, state, holdTtlMs, now, events)
      else
        break
      end
    end
  end
  local unsettled = settleUnservable(L, unsold, closed, now, events)
  foldGone(L)
  fileLineDue(L, now, unsettled)
  if #events > before then
    redis.call('HINCRBY', L.stockKey, 'version', 1)
    return true
  end
  return false
end

-- A waiting ticket read while its line still has tickets to end (LINE_END_LIMIT) is ended now if
-- it is one of them, so no answer claims it is still being served.
local function settleTicket(L, id, now, events)
  local t = decodeTicket(redis.call('HGET', L.ticketsKey, id))
  if t.s ~= 'W' then
    return
  end
  local v = redis.call('HMGET', L.stockKey, 'total', 'sold', 'endsAt', 'lineHoldTtlMs')
  local endsAt = tonumber(v[3])
  -- The sale ended, or the line was removed and this ticket is one still to be closed.
  if (endsAt ~= nil and now >= endsAt) or not v[4] then
    endTicket(L, id, t, 'C', now, events)
  elseif t.q > tonumber(v[1]) - tonumber(v[2]) then
    endTicket(L, id, t, 'S', now, events)
  else
    return
  end
  redis.call('HINCRBY', L.stockKey, 'version', 1)
end
