#!lua flags=allow-oom
--[[
  line_ticket: reads a ticket, or (with ARGV[14] = 1) leaves the line with it. Its line is served
  first (the lobby's shuffle once startsAt passed, admissions, tickets that can no longer be
  served), and a waiting ticket that can no longer be served is ended now (its line may have more
  than one call ends: includes/line.lua, LINE_END_LIMIT), so what it answers is true at the
  moment it is read. Leaving ends a waiting ticket
  LEFT; an admitted ticket keeps its reservation, to be released as usual; an ended one is
  answered as it is.

  KEYS[1]  the partition's tickets hash      KEYS[2]  outbox stream
  ARGV[1..9]  the partition's line templates (includes/line.lua, lineTemplates)
  ARGV[10] stock key template      ARGV[11] expiry index template   ARGV[12] buyers template
  ARGV[13] ticket id               ARGV[14] 1 to leave the line, 0 to read
  ARGV[15] 1 when the engine WAITs for replicas after this call (REDIS_WAIT_REPLICAS): an admitted
           ticket's record is written again, unchanged, so the WAIT covers the admission however
           long ago and by whichever connection it was made (a WAIT covers the writes up to its
           connection's last one, and replication is one ordered stream). A shopper told ADMITTED
           then holds a hold a promoted replica has too.

  Returns {code, ticket text, position or '', units ahead or '', unitsLeft, ticket id} (includes/ticketReply.lua)
    code  0 read, or left now     1 left already, or ended otherwise (leave: nothing changed)
   -19 TICKET_NOT_FOUND (only the code)
]]
local ticketsKey, outboxKey = KEYS[1], KEYS[2]
local ticketId, leave, confirm = ARGV[13], ARGV[14] == '1', ARGV[15] == '1'

-- @include "nowMs"
-- @include "ticketReply"
-- @include "stockSnapshot"
-- @include "appendEntry"

local t = decodeTicket(redis.call('HGET', ticketsKey, ticketId))
if not t then
  return {-19}
end
local sku = t.sku
local stockKey = fromTemplate(ARGV[10], sku)
local L = lineOf(sku, stockKey, fromTemplate(ARGV[11], sku), fromTemplate(ARGV[12], sku), lineTemplates(1))
local now = nowMs()
local events = {}
serveLine(L, now, events)
settleTicket(L, ticketId, now, events)
local code = 0
if leave then
  t = decodeTicket(redis.call('HGET', ticketsKey, ticketId))
  if t.s == 'W' then
    endTicket(L, ticketId, t, 'L', now, events)
    redis.call('HINCRBY', stockKey, 'version', 1)
    -- A head that leaves lets the next tickets in, in the same step.
    serveLine(L, now, events)
  else
    code = 1
  end
end
if #events > 0 then
  appendEntry(outboxKey, events, {stockSnapshot(stockKey, sku)})
end
if confirm then
  local text = redis.call('HGET', ticketsKey, ticketId)
  if decodeTicket(text).s == 'A' then
    redis.call('HSET', ticketsKey, ticketId, text)
  end
end
return ticketReply(L, code, ticketId)
