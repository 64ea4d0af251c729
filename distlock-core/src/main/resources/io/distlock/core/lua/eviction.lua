-- This Redis's eviction setting, read once when a node starts (KEYS[1]: the marker, only to pick
-- the primary in a Cluster): {maxmemory in bytes, maxmemory-policy}. Every lock key has an
-- expiry, so any policy but noeviction may evict a held lock's key under maxmemory.
local info = redis.call('INFO', 'memory')
return {string.match(info, 'maxmemory:(%d+)') or '0', string.match(info, 'maxmemory_policy:([%w-]+)') or ''}
