#!lua flags=allow-oom
--[[
  bucket_move_done: the last step of a move between two buckets (src/reconciler/bucketMoves.ts),
  once its units were added to the target: the source no longer counts them as moving out, and
  the move is no longer pending. Idempotent: a move no longer pending changes nothing.

  KEYS[1]  source stock hash   KEYS[2]  the partition's pending moves
  ARGV[1]  move id
  Returns 1 done now, 0 it was not pending
]]
local text = redis.call('HGET', KEYS[2], ARGV[1])
if not text then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
local qty = tonumber(string.match(text, '^[^|]*|[^|]*|(%d+)|'))
-- A source restored from Postgres meanwhile (drift repair) counts nothing as moving out.
local moving = tonumber(redis.call('HGET', KEYS[1], 'movingOut') or 0)
if moving > 0 then
  redis.call('HSET', KEYS[1], 'movingOut', math.max(0, moving - qty))
end
return 1
