-- Unlock (KEYS: k, q, e, s, the quarantine marker; ARGV: the common head (see queue.lua), then
-- 8 the lock's name, 9 the grant's token or 10 its attempt id (the other empty)), in either mode.
-- 1, or 0 if that grant does not hold the lock (nothing changed): a late release of an older grant
-- leaves a newer one alone. A lock with a queue is handed to its head.
local clock, nowMs = clockNow()
return releaseGrant(KEYS[1], KEYS[2], KEYS[3], KEYS[4], context(ARGV[8]), ARGV[1], ARGV[9], ARGV[10], clock, nowMs) and 1 or 0
