#!lua flags=allow-oom
--[[
  release_lease: lets go of the reconciler lease, but only if this holder still owns it (a
  holder whose lease ran out must not delete the next holder's).

  KEYS[1]  lease key
  ARGV[1]  the holder's token
  Returns 1 released, 0 not ours (expired or taken over)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
