-- Unlock all: 1, or 0 if any is not held by the grant named (nothing changed). ARGV:
-- owner, token memory, channel, the names, then their tokens.
local n = #KEYS
for i, key in ipairs(KEYS) do
  local cur = redis.call('HMGET', key, 'owner', 'token')
  if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[3 + n + i] then
    return 0
  end
end
local now = redis.call('TIME')
local releasedAt = now[1] .. string.format('%06d', now[2])
for i, key in ipairs(KEYS) do
  local cur = redis.call('HMGET', key, 'token', 'w')
  redis.call('HDEL', key, 'owner', 'holder', 'w', 'attempt')
  redis.call('PEXPIRE', key, ARGV[2])
  if cur[2] then
    redis.call('PUBLISH', ARGV[3], cur[1] .. ':' .. releasedAt .. ':' .. ARGV[3 + i])
  end
end
return 1
