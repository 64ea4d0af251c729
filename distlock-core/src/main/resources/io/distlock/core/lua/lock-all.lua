-- Lock all (KEYS: the locks, then the quarantine marker): {1, (token,
-- fresh)..., replicas in key order, or {0, (index, holder, token, pttl)...,
-- replicas}; during a quarantine, every requested lock that is free, with a nil holder as
-- in LOCK.
local n = #KEYS - 1
local conflicts = {}
local anyFree = false
for i = 1, n do
  local cur = redis.call('HMGET', KEYS[i], 'owner', 'token', 'holder', 'attempt')
  if (cur[1] and cur[1] ~= ARGV[1]) or stale(cur[1], cur[4]) then
    redis.call('HSET', KEYS[i], 'w', '1')
    table.insert(conflicts, i)
    table.insert(conflicts, cur[3])
    table.insert(conflicts, cur[2])
    table.insert(conflicts, redis.call('PTTL', KEYS[i]))
  elseif not cur[1] or string.sub(ARGV[6], i, i) ~= '1' then
    anyFree = true
  end
end
if #conflicts > 0 then
  table.insert(conflicts, 1, 0)
  table.insert(conflicts, replicas())
  return conflicts
end
local now = redis.call('TIME')
local clock = now[1] * 1000000 + now[2]
if anyFree then
  local wait = quarantine(math.floor(clock / 1000))
  if wait > 0 then
    table.insert(conflicts, 0)
    for i = 1, n do
      local cur = redis.call('HMGET', KEYS[i], 'owner', 'token')
      if not cur[1] or string.sub(ARGV[6], i, i) ~= '1' then
        table.insert(conflicts, i)
        table.insert(conflicts, false)
        table.insert(conflicts, string.format('%.0f', math.max((tonumber(cur[2]) or 0) + 1, clock)))
        table.insert(conflicts, wait)
      end
    end
    table.insert(conflicts, replicas())
    return conflicts
  end
end
local result = {1}
for i = 1, n do
  local cur = redis.call('HMGET', KEYS[i], 'owner', 'token')
  local token = cur[2]
  local fresh = 0
  if cur[1] ~= ARGV[1] or string.sub(ARGV[6], i, i) ~= '1' then
    token = string.format('%.0f', math.max((tonumber(cur[2]) or 0) + 1, clock))
    fresh = 1
    redis.call('HSET', KEYS[i], 'owner', ARGV[1], 'holder', ARGV[2], 'token', token, 'attempt', ARGV[7])
  end
  redis.call('PEXPIRE', KEYS[i], ARGV[3])
  table.insert(result, token)
  table.insert(result, fresh)
end
table.insert(result, replicas())
return result
