#!lua flags=allow-oom
--[[
  start_epoch: begins a new shard epoch of a partition (src/domain/changeMark.ts) when the master
  running it is not the one the current epoch began on (its replication id, master_replid of INFO
  replication, differs from the one recorded: a failover promoted a replica, a restart, a slot
  moved to another master, or no epoch began yet), or always for a rebuild. Engines noticing at
  once begin one epoch: the first script records the new master's id, the others find it there.
  The epoch is the Redis time in ms, so it is later than any epoch begun before on any master
  whose clock agrees, without knowing the old one; above the recorded one in any case.

  KEYS[1]  the partition's epoch hash (RedisKeys.epoch: fields epoch, replid)
  ARGV[1]  'ensure': only when the replication id differs (or none is recorded); 'rebuild':
           always (the partition lost its data and is about to be restored from Postgres)

  Returns {1 begun | 0 kept, epoch (a number, 0 when none), replid}
]]
local epochKey, mode = KEYS[1], ARGV[1]

local info = redis.call('INFO', 'replication')
local replid = string.match(info, 'master_replid:(%x+)')
local recorded = redis.call('HMGET', epochKey, 'epoch', 'replid')
local epoch = tonumber(recorded[1]) or 0
if mode ~= 'rebuild' and recorded[2] == replid then
  return {0, epoch, replid}
end
local time = redis.call('TIME')
epoch = math.max(tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000), epoch + 1)
redis.call('HSET', epochKey, 'epoch', epoch, 'replid', replid)
return {1, epoch, replid}
