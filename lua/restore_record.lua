#!lua flags=allow-oom
--[[
  restore_record: cold start of one record of a pending reservation (its home record, or its part
  in another partition) and, for a reservation spanning partitions, its entry in that partition's
  spanning index; both left as they are where present. Written only while the restore's guard is
  there (src/redis/restoreGuard.ts): gone, Redis lost its data since the restore read Postgres.

  KEYS[1]  the restore's guard    KEYS[2]  the record    KEYS[3]  the partition's spanning index
  ARGV[1]  the record's text      ARGV[2]  when it expires (ms, PXAT)
  ARGV[3]  its score in the spanning index ('' for a reservation that spans no partition)
  ARGV[4]  the reservation id (the spanning index's member)

  Returns 1 written or kept, 0 the guard is gone
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('SET', KEYS[2], ARGV[1], 'PXAT', ARGV[2], 'NX')
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[4])
end
return 1
