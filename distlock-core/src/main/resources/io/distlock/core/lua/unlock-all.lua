-- Unlock all (KEYS: k, q, e, s of each lock, then the quarantine marker; ARGV: the common head (see
-- queue.lua), then the names, then their tokens): 1, or 0 if any is not held by the grant named
-- (nothing changed).
local n = (#KEYS - 1) / 4
local me = ARGV[1]
local clock, nowMs = clockNow()
for i = 1, n do
  local token = ARGV[7 + n + i]
  local cur = redis.call('HMGET', KEYS[i * 4 - 3], 'owner', 'token')
  if not (cur[1] == me and cur[2] == token) then
    local mine = sharedOf(KEYS[i * 4], me, nowMs)
    if not mine or mine[1] ~= token then
      return 0
    end
  end
end
for i = 1, n do
  releaseGrant(KEYS[i * 4 - 3], KEYS[i * 4 - 2], KEYS[i * 4 - 1], KEYS[i * 4], context(ARGV[7 + i]), me, ARGV[7 + n + i], '',
      clock, nowMs)
end
return 1
