-- The quarantine after a possible loss of data, asked by a grant (on: true when it is on;
-- lease: how long a quarantine lasts, in ms, the longest lease of the nodes; marker the key):
-- how many ms grants must still wait, 0 for none.
--
-- The marker, the last key of every script that grants, is <run_id>:<master_replid>:<quarantined until, ms of
-- the Redis clock> of the primary that granted last. A grant that finds it missing (a
-- restart without persistence, a flush, a replica promoted without it, or simply a brand-new
-- Redis: these cannot be told apart), naming another process (run_id: a restart, with
-- or without persistence, or a failover to another server), or naming this process before it
-- was promoted from replica (a new master_replid while master_replid2 is set:
-- it was a replica since, and its data came from another primary) starts a quarantine of one
-- lease (the longest of the prefix's nodes' leases): by then every session that held a lock before the loss has been told LOST
-- (at its node's next renewal, or at two thirds of its lease if Redis cannot be reached) or
-- its lease has run out. A new master_replid with master_replid2 cleared and
-- the same run_id only means Redis started or dropped its replication backlog (a first
-- replica attached, or none for repl-backlog-ttl): nothing was lost, the marker is
-- updated and nothing waits.
--
-- Cost: INFO replication (shared with REPLICAS) and one GET per new grant.
-- INFO server, twice as dear, only when the replication id changed: an unchanged
-- master_replid already means the same process, primary all along (Redis 5 and later
-- draw a new one at every start, even from a snapshot, and at every promotion).
--
-- Why not a rule that spares the first grant on a brand-new Redis: nothing that survives
-- an empty restart can tell it from a first start. A node that remembers the marker it saw
-- would know, but a node started after the loss (or one that never granted) has seen none,
-- and would grant at once while a holder on another node has not been told yet.
local function quarantine(nowMs, on, lease, marker)
  if not on then
    return 0
  end
  local info = replicationInfo()
  local replId = string.match(info, 'master_replid:(%x+)') or ''
  local seen = redis.call('GET', marker)
  local seenRunId, seenReplId, untilMs
  if seen then
    seenRunId, seenReplId, untilMs = string.match(seen, '^([^:]*):([^:]*):(%d+)$')
  end
  if untilMs and seenReplId == replId then
    return math.max(0, tonumber(untilMs) - nowMs)
  end
  local runId = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or ''
  local promoted = string.match(info, 'master_replid2:(%x+)') ~= string.rep('0', 40)
  if untilMs and seenRunId == runId and not promoted then
    redis.call('SET', marker, runId .. ':' .. replId .. ':' .. untilMs)
    return math.max(0, tonumber(untilMs) - nowMs)
  end
  redis.call('SET', marker, runId .. ':' .. replId .. ':' .. string.format('%.0f', nowMs + tonumber(lease)))
  return tonumber(lease)
end
