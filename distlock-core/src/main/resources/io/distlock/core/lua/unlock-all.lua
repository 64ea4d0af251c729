-- Unlock all (KEYS: k, q, e, s of each lock, then the quarantine marker; ARGV: the common head (see
-- queue.lua), then the names, then their tokens, then the attempts the caller's node has made for
-- the session or '' (see stale.lua's renamedPast)): 1, or 0 if any is not held by the grant named
-- (nothing changed).
local n = (#KEYS - 1) / 4
local me = ARGV[1]
local upTo = ARGV[8 + 2 * n]
local clock, nowMs = clockNow()
for i = 1, n do
  local token = ARGV[7 + n + i]
  local cur = redis.call('HMGET', KEYS[i * 4 - 3], 'owner', 'token', 'attempt')
  if not (cur[1] == me and cur[2] == token and not renamedPast(cur[3], upTo)) then
    local mine = sharedOf(KEYS[i * 4], me, nowMs)
    if not mine or mine[1] ~= token or renamedPast(mine[3], upTo) then
      return 0
    end
  end
end
for i = 1, n do
  releaseGrant(KEYS[i * 4 - 3], KEYS[i * 4 - 2], KEYS[i * 4 - 1], KEYS[i * 4], context(ARGV[7 + i]), me, ARGV[7 + n + i], '',
      clock, nowMs, upTo)
end
return 1
