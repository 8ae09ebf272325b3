-- The opening shared by the scripts that end or change one reservation record (commit, release,
-- extend, abandon, finish_part), whose KEYS and ARGV start alike (src/redis/scriptCalls.ts,
-- recordCall):
--   KEYS[1]  the record      KEYS[2]  the partition's outbox stream   KEYS[3]  its spanning index
--   ARGV[1]  reservation id
--   ARGV[2..4]  this partition's stock, expiry index and buyers key templates ("...%s...", %s
--               the SKU)
--   ARGV[5]  record retention after the reservation ends (ms)
--   ARGV[6]  partition count          ARGV[7]  this partition
--   ARGV[8..16]  the partition's line templates (includes/line.lua, lineTemplates): an ended hold's
--               units go to the head of its SKU's line in the same step
-- A script's own KEYS and ARGV follow from KEYS[4] and ARGV[17].
-- @include "nowMs"
-- @include "reservationRecord"
-- @include "finishReservation"
local recordKey, outboxKey, spanningKey = KEYS[1], KEYS[2], KEYS[3]
local reservationId = ARGV[1]
local templates = {stock = ARGV[2], expiry = ARGV[3], buyers = ARGV[4], spanning = spanningKey,
  partitions = tonumber(ARGV[6]), partition = tonumber(ARGV[7]), lines = lineTemplates(8)}
local retentionMs = tonumber(ARGV[5])
