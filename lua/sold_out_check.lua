#!lua flags=no-writes
--[[
  sold_out_check: what an engine process needs to keep answering a SKU's reserves "sold out"
  without a round trip (src/redis/soldOutWatch.ts), for the SKUs of one partition it believes
  sold out, with Redis time: whether a unit came back or a hold's time ran out is judged there.
  Changes nothing.

  KEYS[1]  the first SKU's stock hash   KEYS[2]  its expiry index (zset of hold members by expiry)
  then the same two keys for each further SKU
  ARGV  none

  Returns {nowMs, state_1, ..., state_n}, a state being
    {}  the SKU does not exist
    {available, version, perUserLimit, startsAt, endsAt, lined, located, earliestExpiry}, every
        field a string, "" where the SKU has none (lined / located: "1" when it has a waiting line
        / stock locations; earliestExpiry: the first hold's expiry, "" when nothing is held)
]]
-- @include "nowMs"

local reply = {tostring(nowMs())}
for n = 1, #KEYS / 2 do
  local stockKey, expiryKey = KEYS[2 * n - 1], KEYS[2 * n]
  local v = redis.call('HMGET', stockKey, 'available', 'version', 'perUserLimit', 'startsAt', 'endsAt', 'lineHoldTtlMs', 'locations')
  if not v[1] then
    reply[n + 1] = {}
  else
    local first = redis.call('ZRANGE', expiryKey, 0, 0, 'WITHSCORES')
    reply[n + 1] = {v[1], v[2] or '0', v[3] or '', v[4] or '', v[5] or '', v[6] and '1' or '', v[7] and '1' or '', first[2] or ''}
  end
end
return reply
