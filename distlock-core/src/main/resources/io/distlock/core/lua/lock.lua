-- Lock (KEYS: the lock, the quarantine marker; ARGV: owner, holder, lease, ask
-- for replicas, quarantine on, held flags, attempt id): {1, token, fresh, replicas}
-- (fresh is 1 for a new grant, 0 for a re-lock) or {0, holder, token, pttl,
-- replicas}; during a quarantine holder is nil, token the one a grant would
-- have had, pttl what is left of the quarantine.
local cur = redis.call('HMGET', KEYS[1], 'owner', 'token', 'holder', 'attempt')
if cur[1] == ARGV[1] and ARGV[6] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, cur[2], 0, replicas()}
end
if (cur[1] and cur[1] ~= ARGV[1]) or stale(cur[1], cur[4]) then
  if cur[1] ~= ARGV[1] then
    redis.call('HSET', KEYS[1], 'w', '1')
  end
  return {0, cur[3], cur[2], redis.call('PTTL', KEYS[1]), replicas()}
end
local now = redis.call('TIME')
local clock = now[1] * 1000000 + now[2]
local token = string.format('%.0f', math.max((tonumber(cur[2]) or 0) + 1, clock))
local wait = quarantine(math.floor(clock / 1000))
if wait > 0 then
  return {0, false, token, wait, replicas()}
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'holder', ARGV[2], 'token', token, 'attempt', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, token, 1, replicas()}
