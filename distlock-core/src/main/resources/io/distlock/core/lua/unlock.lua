-- Unlock (KEYS: k, q, e, s, the quarantine marker; ARGV: the common head (see queue.lua), then
-- 8 the lock's name, 9 the grant's token or 10 its attempt id (the other empty), 11 the caller's
-- node id or '', 12 the attempts the caller's node has made for the session or '' (see stale.lua's
-- renamedPast: a grant an adoption renamed past them is not the caller's to release)), in either mode. Answers {1, grant messages for the caller's node...}, or {0} if
-- that grant does not hold the lock (nothing changed): a late release of an older grant leaves a
-- newer one alone; {0, thief} if the last steal of the lock ended it (as renew.lua answers). A lock with a queue is handed to its head; the caller is told in the answer of
-- the grants to its own sessions (see advance in queue.lua), other nodes on their channels.
local clock, nowMs = clockNow()
local ctx = context(ARGV[8])
if ARGV[11] and ARGV[11] ~= '' then
  ctx.localNode = ARGV[11]
  ctx.localGrants = {}
end
if not releaseGrant(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ctx, ARGV[1], ARGV[9], ARGV[10], clock, nowMs, ARGV[12]) then
  local thief = thiefOf(redis.call('HGET', KEYS[1], 'stole'), ARGV[9])
  return thief and {0, thief} or {0}
end
local answer = {1}
for _, told in ipairs(ctx.localGrants or {}) do
  table.insert(answer, told)
end
return answer
