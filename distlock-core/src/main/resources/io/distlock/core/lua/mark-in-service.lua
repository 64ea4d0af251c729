-- Marks a Redis that was started empty just now as in service (KEYS[1]: the marker), unless marked already.
local runId = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or ''
local replId = string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)') or ''
redis.call('SET', KEYS[1], runId .. ':' .. replId .. ':0', 'NX')
return 1
