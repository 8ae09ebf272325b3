-- What the engine passes to every script that ends reservations (RedisStore.finishArgs), from
-- ARGV[first] on: this partition's SKU key templates ("...%s..."), the record retention after a
-- reservation ends (ms), the partition count and this partition. Returns the templates (with the
-- spanning index key) and the retention.
local function finishTemplates(first, spanningKey)
  local templates = {stock = ARGV[first], expiry = ARGV[first + 1], buyers = ARGV[first + 2], spanning = spanningKey,
    partitions = tonumber(ARGV[first + 4]), partition = tonumber(ARGV[first + 5])}
  return templates, tonumber(ARGV[first + 3])
end
