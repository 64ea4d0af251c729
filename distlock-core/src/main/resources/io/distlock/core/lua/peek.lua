-- Peek (KEYS: k, q, e, s, the quarantine marker; ARGV: the common head (see queue.lua), then 8 the
-- lock's name): {owner or '', token or '', pttl, quarantined, clock}. A lock nobody holds whose
-- queue is not empty is handed over first. Held shared, owner is the earliest shared holder and
-- token its token (every grant before it ended). Free while a quarantine runs, or while its queue
-- waits for one, quarantined is 1 and pttl what is left of it: a re-check does not tell waiters a
-- lock is free while no lock can be granted. It only honours a quarantine that a grant started; it
-- does not look for a data loss itself. clock is the Redis clock in µs: any later grant of the lock
-- has a larger token.
local k, q, e, s = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ctx = context(ARGV[8])
local clock, nowMs = clockNow()
advance(k, q, e, s, ctx, clock, nowMs)
local at = string.format('%.0f', clock)
local cur = redis.call('HMGET', k, 'owner', 'token')
if cur[1] then
  return {cur[1], cur[2], redis.call('PTTL', k), 0, at}
end
local first = earliest(sharedHolders(s, nowMs))
if first then
  return {first[1], first[2], first[3] - nowMs, 0, at}
end
if ctx.quarantine then
  local seen = redis.call('GET', ctx.marker)
  local untilMs = seen and tonumber(string.match(seen, ':(%d+)$'))
  if untilMs and untilMs > nowMs then
    return {'', cur[2] or '', untilMs - nowMs, 1, at}
  end
end
if queueHead(q, e, nowMs) then
  return {'', cur[2] or '', tonumber(ctx.lease), 1, at}
end
return {cur[1] or '', cur[2] or '', redis.call('PTTL', k), 0, at}
