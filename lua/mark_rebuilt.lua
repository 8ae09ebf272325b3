#!lua flags=allow-oom
--[[
  mark_rebuilt: ends a rebuild of a partition. Writes its data marker only if the rebuild's token,
  written before it read Postgres, is still there: gone, Redis lost the partition's data again
  while it was being restored (what was restored before that is gone too), so the partition stays
  without its marker and is rebuilt again.

  KEYS[1]  the rebuild's token    KEYS[2]  the partition's data marker
  ARGV[1]  the marker's text (when it was written)
  Returns 1 marked, 0 the data was lost again
]]
if redis.call('DEL', KEYS[1]) == 0 then
  return 0
end
redis.call('SET', KEYS[2], ARGV[1])
return 1
