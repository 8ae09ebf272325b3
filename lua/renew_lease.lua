#!lua flags=allow-oom
--[[
  renew_lease: extends the reconciler lease while its holder's pass is still running, but only if
  this holder still owns it.

  KEYS[1]  lease key
  ARGV[1]  the holder's token      ARGV[2]  new time to live (ms)
  Returns 1 renewed, 0 not ours (expired or taken over)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
