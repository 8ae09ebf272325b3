-- @include "reservationRecord"

-- The partition of a SKU or a user: the same function as src/redis/partitions.ts (h * 33 + byte,
-- kept below 2^32, so doubles compute it exactly), modulo the partition count.
local function partitionOf(text, count)
  if count == 1 then
    return 0
  end
  local hash = 5381
  for i = 1, #text do
    hash = (hash * 33 + string.byte(text, i)) % 4294967296
  end
  return hash % count
end

-- The partition of a SKU or of one of its buckets ("<sku>~<i>", i partitions after the SKU's
-- own): src/redis/partitions.ts, partitionOfSku.
local function partitionOfSku(name, count)
  local sku, bucket = string.match(name, '^(.*)~(%d+)$')
  if not sku then
    return partitionOf(name, count)
  end
  return (partitionOf(sku, count) + tonumber(bucket)) % count
end

-- Whether a bucket ("<sku>~<i>", or the SKU itself for bucket 0) of a SKU split into `buckets` is
-- the one the user reserves in: src/redis/partitions.ts, homeBucket.
local function isHomeBucket(name, userId, buckets)
  local bucket = tonumber(string.match(name, '~(%d+)$') or '0')
  return partitionOf(userId, 2147483647) % buckets == bucket
end

-- A line's units in a split SKU's bucket as a reply names them, with what the engine routes by
-- (src/redis/bucketRoutes.ts): the bucket count, and 1 when a per-user limit ties each user to one
-- bucket, else 0.
local function splitLineUnits(units, buckets, limit)
  return {units, buckets, limit and 1 or 0}
end

-- Whether a SKU's keys are in this script's partition (`where` = {partition, partitions}).
local function isLocal(sku, where)
  return where.partitions == 1 or partitionOfSku(sku, where.partitions) == where.partition
end

-- Whether a reservation has lines in other partitions than its home: a spanning reservation, whose
-- holds never expire on their own (their score is +inf) and whose end is applied to every part.
local function spansPartitions(r, where)
  for _, line in ipairs(recordLines(r)) do
    if not isLocal(line[1], where) then
      return true
    end
  end
  return false
end
