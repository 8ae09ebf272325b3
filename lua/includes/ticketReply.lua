-- @include "line"

-- The reply of the line scripts for one ticket, as it stands once its line was served:
-- {code, ticket text, position or '', units ahead or '', unitsLeft, id} (src/redis/lineOperations.ts
-- reads it). Position and units ahead are those of a waiting ticket after the lobby's shuffle.
local function ticketReply(L, code, id)
  local t = decodeTicket(redis.call('HGET', L.ticketsKey, id))
  local position, ahead = '', ''
  if t.s == 'W' then
    local p, a = standing(L, id, t)
    position, ahead = p or '', a or ''
  end
  local v = redis.call('HMGET', L.stockKey, 'total', 'sold')
  return {code, encodeTicket(t), position, ahead, tonumber(v[1]) - tonumber(v[2]), id}
end
