-- The number of replicas connected to this primary, if ask is '1' (from INFO replication, as
-- Redisson's replica check reads it), otherwise -1. Asked rarely when there are none: see
-- ReplicaSync. INFO replication is read at most once per script, for this and for QUARANTINE.
local replication
local function replicationInfo()
  if not replication then
    replication = redis.call('INFO', 'replication')
  end
  return replication
end
local function replicas(ask)
  if ask ~= '1' then
    return -1
  end
  return tonumber(string.match(replicationInfo(), 'connected_slaves:(%d+)')) or 0
end
