-- What a node checks once when it starts (KEYS[1]: the data-loss marker, which also picks the
-- primary in a Cluster; ARGV[1]: 'q' if the quarantine is on, ARGV[2]: 'r' if grants wait for
-- replicas): {refused, maxmemory in bytes, maxmemory-policy}.
-- refused is '' or names the first command the grant scripts run that Redis refuses this
-- node's user (an ACL without it, a key pattern without the prefix, a renamed command), with
-- Redis's own words: a node that started anyway would fail every lock. The eviction setting is
-- '0' and '' if INFO memory is refused: only a warning depends on it. Every lock key has an
-- expiry, so any policy but noeviction may evict a held lock's key under maxmemory.
local function refused(...)
  local answer = redis.pcall(...)
  if type(answer) == 'table' and answer.err then
    return table.concat({...}, ' ') .. ': ' .. answer.err
  end
  return false
end
local why = refused('TIME') or refused('EXISTS', KEYS[1])
if not why and (ARGV[1] == 'q' or ARGV[2] == 'r') then
  why = refused('INFO', 'replication')
end
if not why and ARGV[1] == 'q' then
  why = refused('INFO', 'server')
end
local info = redis.pcall('INFO', 'memory')
if type(info) ~= 'string' then
  info = ''
end
return {why or '', string.match(info, 'maxmemory:(%d+)') or '0', string.match(info, 'maxmemory_policy:([%w-]+)') or ''}
