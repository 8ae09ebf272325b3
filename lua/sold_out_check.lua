#!lua flags=no-writes
--[[
  sold_out_check: what an engine process needs to keep answering a SKU's reserves (a lined SKU's
  joins) "sold out" without a round trip (src/redis/soldOutWatch.ts), for the SKUs of one partition it believes
  sold out, with Redis time: whether a unit came back or a hold's time ran out is judged there.
  Changes nothing.

  KEYS[1]  the first SKU's stock hash   KEYS[2]  its expiry index (zset of hold members by expiry)
  then the same two keys for each further SKU
  ARGV  none

  Returns {nowMs, state_1, ..., state_n}, a state being
    {}  the SKU does not exist
    {available, version, perUserLimit, startsAt, endsAt, lined, located, earliestExpiry, unsold,
        lobbyMs, epoch, buckets, movingOut}, every field a string, "" where the SKU has none
        (lined / located: "1" when it has a waiting line / stock locations; earliestExpiry: the
        first hold's expiry, "" when nothing is held; unsold: total - sold, what a join is refused
        SOLD_OUT against; lobbyMs: how long before startsAt the line's lobby opens; epoch: the one
        the version counts in, as a rebuild may count a version again; buckets: how many buckets
        the SKU a bucket belongs to is split into, src/domain/buckets.ts, "" when not split;
        movingOut: units on their way out of this bucket to another, "" when none)
]]
-- @include "nowMs"
-- @include "epochKey"

local reply = {tostring(nowMs())}
for n = 1, #KEYS / 2 do
  local stockKey, expiryKey = KEYS[2 * n - 1], KEYS[2 * n]
  local v = redis.call('HMGET', stockKey, 'available', 'version', 'perUserLimit', 'startsAt', 'endsAt', 'lineHoldTtlMs', 'locations', 'total', 'sold', 'lineLobbyMs', 'epoch', 'buckets', 'movingOut')
  if not v[1] then
    reply[n + 1] = {}
  else
    local first = redis.call('ZRANGE', expiryKey, 0, 0, 'WITHSCORES')
    local unsold = tostring(tonumber(v[8] or 0) - tonumber(v[9] or 0))
    local buckets = tonumber(v[12] or 1) > 1 and v[12] or ''
    local movingOut = tonumber(v[13] or 0) > 0 and v[13] or ''
    reply[n + 1] = {v[1], v[2] or '0', v[3] or '', v[4] or '', v[5] or '', v[6] and '1' or '', v[7] and '1' or '', first[2] or '', unsold, v[10] or '', tostring(epochOf(stockKey, v[11])), buckets, movingOut}
  end
end
return reply
