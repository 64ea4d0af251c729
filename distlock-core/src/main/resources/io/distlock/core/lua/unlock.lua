-- Unlock the grant named by ARGV: owner, token memory, channel, lock name, then the
-- grant's token or its attempt id (the other empty). 1, or 0 if that grant does not hold the
-- lock (nothing changed): a late release of an older grant leaves a newer one alone.
local cur = redis.call('HMGET', KEYS[1], 'owner', 'token', 'w', 'attempt')
if cur[1] ~= ARGV[1] or (ARGV[5] ~= '' and cur[2] ~= ARGV[5]) or (ARGV[6] ~= '' and cur[4] ~= ARGV[6]) then
  return 0
end
redis.call('HDEL', KEYS[1], 'owner', 'holder', 'w', 'attempt')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if cur[3] then
  local now = redis.call('TIME')
  redis.call('PUBLISH', ARGV[3], cur[2] .. ':' .. now[1] .. string.format('%06d', now[2]) .. ':' .. ARGV[4])
end
return 1
