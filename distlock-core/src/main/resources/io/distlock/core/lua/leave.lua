-- Leave a lock's queue (KEYS: k, q, e, s, the quarantine marker; ARGV: the common head (see
-- queue.lua), then 8 the lock's name, 9 the attempt id of the request that queued, 10 '1' to
-- release the grant it already got): {1} left the queue; {2, token, mode} it was granted already
-- (kept); {3} it was granted already, and is released now; {0} neither queued nor granted. A
-- request behind may be granted now. Only the place and the grant of that attempt count, so a
-- leave that arrives late frees no later grant and drops no later place.
local k, q, e, s = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local me = ARGV[1]
local ctx = context(ARGV[8])
local clock, nowMs = clockNow()
local v = redis.call('HGET', e, me)
if v and fields(v, 5)[3] == ARGV[9] then
  dropPlace(q, e, me)
  changed(ctx)
  advance(k, q, e, s, ctx, clock, nowMs)
  return {1}
end
local cur = redis.call('HMGET', k, 'owner', 'token', 'attempt')
local token, mode = cur[2], 'x'
if not (cur[1] == me and cur[3] == ARGV[9]) then
  local mine = sharedOf(s, me, nowMs)
  if not (mine and mine[3] == ARGV[9]) then
    return {0}
  end
  token, mode = mine[1], 's'
end
if ARGV[10] == '1' then
  releaseGrant(k, q, e, s, ctx, me, '', ARGV[9], clock, nowMs)
  return {3}
end
return {2, token, mode}
