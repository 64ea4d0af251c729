-- Renew (KEYS: k, s; ARGV: owner, lease, token, how long to keep the last token of a lock held
-- shared (see queue.lua)): {1}, or {0} if that grant no longer holds the lock, or {0, thief} if
-- the last steal of the lock ended it (thief stamped, as holders are; see lock.lua's 'stole').
-- ARGV 5: the attempts the caller's node has made for the session ('' for no bound): a grant an
-- adoption renamed past them is the adopter's, not renewed (stale.lua's renamedPast).
-- ARGV 6 (an adoption's proof only): the attempt id the grant is known by from now on, one of the
-- adopting node's, so that the old node's late lock requests are older than it (stale.lua). Only
-- ever raised: an earlier adopter's proof that Redis sees after a later one's must not bring the
-- grant back into the earlier adopter's range, where its late requests would be newer than it.
-- queue.lua's extend (this script goes without it): key lives at least ms more, its TTL never
-- shortened, as the shared holders of nodes with longer leases and the last token need.
local function extend(key, ms)
  if redis.call('PTTL', key) < tonumber(ms) then
    redis.call('PEXPIRE', key, ms)
  end
end
local function raises(attempt)
  return ARGV[6] and not (tonumber(attempt) and tonumber(attempt) >= tonumber(ARGV[6]))
end
local cur = redis.call('HMGET', KEYS[1], 'owner', 'token', 'stole', 'attempt')
if cur[1] == ARGV[1] and cur[2] == ARGV[3] and not renamedPast(cur[4], ARGV[5]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2]) -- the exclusive lease: exact, as a grant sets it
  if raises(cur[4]) then
    redis.call('HSET', KEYS[1], 'attempt', ARGV[6])
  end
  return {1}
end
local v = redis.call('HGET', KEYS[2], ARGV[1])
if v then
  local token, expires, rest = string.match(v, '^([^|]*)|([^|]*)|(.*)$')
  local now = redis.call('TIME')
  local nowMs = now[1] * 1000 + math.floor(now[2] / 1000)
  local attempt = string.match(rest, '^([^|]*)')
  if token == ARGV[3] and tonumber(expires) > nowMs and not renamedPast(attempt, ARGV[5]) then
    if raises(attempt) then
      rest = ARGV[6] .. string.match(rest, '^[^|]*(|.*)$')
    end
    redis.call('HSET', KEYS[2], ARGV[1], token .. '|' .. string.format('%.0f', nowMs + ARGV[2]) .. '|' .. rest)
    extend(KEYS[2], ARGV[2])
    if not cur[1] then
      -- The lock hash keeps the last token, which a WAIT names and the last release publishes: it
      -- must outlive the shared holders, and a shared grant sets its expiry only once.
      extend(KEYS[1], ARGV[4])
    end
    return {1}
  end
end
local thief = thiefOf(cur[3], ARGV[3])
return thief and {0, thief} or {0}
