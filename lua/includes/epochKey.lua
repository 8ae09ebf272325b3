-- The partition's epoch hash beside a key of the partition: the key's hash tag, then ':epoch'
-- (src/redis/keys.ts, RedisKeys.epoch).
local function epochKeyOf(key)
  return string.match(key, '^(.-{p%d+})') .. ':epoch'
end

-- The epoch a SKU's version counts in: the partition's (lua/start_epoch.lua), else the one its
-- stock hash last recorded (`recorded`), 0 when neither has one.
local function epochOf(stockKey, recorded)
  return tonumber(redis.call('HGET', epochKeyOf(stockKey), 'epoch') or recorded or 0)
end
