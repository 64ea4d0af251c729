-- Leave a lock's queue (KEYS: k, q, e, s, the quarantine marker; ARGV: the common head (see
-- queue.lua), then 8 the lock's name, 9 the attempt id of the request that queued to release the
-- grant it already got, or '' to keep it): {1} left the queue; {2, token, mode} it was granted
-- already (kept); {3} it was granted already, and is released now; {0} neither queued nor
-- holding. A request behind may be granted now. A release names the queuing attempt, so that a
-- leave that arrives late frees no later grant.
local k, q, e, s = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local me = ARGV[1]
local ctx = context(ARGV[8])
local clock, nowMs = clockNow()
if dropPlace(q, e, me) then
  advance(k, q, e, s, ctx, clock, nowMs)
  return {1}
end
local cur = redis.call('HMGET', k, 'owner', 'token')
local token, mode = cur[2], 'x'
if cur[1] ~= me then
  local mine = sharedOf(s, me, nowMs)
  if not mine then
    return {0}
  end
  token, mode = mine[1], 's'
end
if ARGV[9] ~= '' then
  if releaseGrant(k, q, e, s, ctx, me, '', ARGV[9], clock, nowMs) then
    return {3}
  end
  return {0}
end
return {2, token, mode}
