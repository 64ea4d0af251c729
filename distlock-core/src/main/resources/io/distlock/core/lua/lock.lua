-- Lock (KEYS: k, q, e, s of the lock, the quarantine marker; ARGV: the common head (see
-- queue.lua), then 8 holder, 9 ask for replicas, 10 held ('1' if the session holds it now),
-- 11 attempt id, 12 mode, 13 queue ('1' to queue), 14 node, 15 most queued, 16 the lock's name,
-- 17 the attempt id of the place the session believes it has in this lock's queue, or '', 18
-- steal ('1' to take it from its holders now), 19 ask: '' or the holder to name to the lock's
-- holders if the request queues), 20 the token of the grant the session holds ('' if none). Every
-- answer ends with the stamped thief of that grant if the lock's last steal ended it (see
-- stolen.lua), so that its node tells the session that steal before the answer:
--   {1, token, fresh, mode, replicas}: granted (fresh is 0 for a re-lock of a grant held); mode
--     ('x' or 's') is the grant's: the one asked, but for a grant the session had already (a
--     re-lock; its queued request's grant, in the mode that request asked);
--   {0, holder, token, pttl, replicas}: WAIT for the grant with that token (held by holder for
--     pttl more ms); during a quarantine holder is nil, token the one a grant would have had,
--     pttl what is left of the quarantine;
--   {2, position, holder, attempt, replicas}: queued (holder nil during a quarantine), in the place
--     of that attempt id: the place named by 17 if Redis still has it, otherwise a new one, this
--     attempt's (the caller's place must name it: a grant is told for the place it was made to);
--   {3, replicas}: the queue is full.
-- A request is granted only if nobody queues (no queue jumping); a lock that is free while its
-- queue is not (its holder's lease ran out) is first handed to the queue. A steal is granted at
-- once, but during a quarantine: every holder it ends (all of them, in either mode) is told on
-- '<prefix>:stolen':
-- '<owner>\n<token>\n<name>\n<stealer, stamped>'. The queue keeps its order. A request that
-- queues with an ask tells every holder on '<prefix>:asked': '<owner>\n<name>\n<asker, stamped>'.
local k, q, e, s = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ctx = context(ARGV[16])
local me, lease, mode = ARGV[1], ARGV[2], ARGV[12]
local steal = ARGV[18] == '1'
local clock, nowMs = clockNow()
local cur = redis.call('HMGET', k, 'owner', 'token', 'holder', 'attempt', 'stole')
local endedBy = ARGV[10] == '1' and thiefOf(cur[5], ARGV[20]) or nil
-- A re-lock of the grant held; not a late one of the old node of a resumed session, whose lease may
-- differ (the adoption renamed the grant past it): that one is stale, answered below.
if cur[1] == me and ARGV[10] == '1' and not stale(cur[1], me, cur[4], ARGV[11]) then
  redis.call('PEXPIRE', k, lease)
  return {1, cur[2], 0, 'x', replicas(ARGV[9]), endedBy}
end
local place = ARGV[17]
-- Whether the lock has a queue, queued requests or shared holders: if not (the uncontended
-- case), none of them is read below. Nothing before the hand-over creates any of them.
local crowd = redis.call('EXISTS', q, e, s) > 0
-- A place of the session that it does not know of (one it gave up, or one whose answer was
-- lost) is dropped: this request queues anew, at the back, with its own mode and attempt.
local queued = crowd and redis.call('HGET', e, me)
if queued and fields(queued, 5)[3] ~= place then
  if tonumber(fields(queued, 5)[3]) > tonumber(ARGV[11]) then
    -- This request is older than the place (a copy that came late: the old node of a resumed
    -- session, whose adopter numbers attempts past a gap): it must not end it. Answered like a
    -- stale grant request below, and changes nothing.
    return {0, cur[3], cur[2] or nextToken(k, clock, false), redis.call('PTTL', k), replicas(ARGV[9]), endedBy}
  end
  dropPlace(q, e, me)
  changed(ctx)
  queued = false
end
local wasQueued = queued and true or false
local mine = crowd and sharedOf(s, me, nowMs) or nil
if mine and ARGV[10] == '1' and not stale(me, me, mine[3], ARGV[11]) then
  redis.call('HSET', s, me, mine[1] .. '|' .. string.format('%.0f', nowMs + lease) .. '|' .. mine[3] .. '|' .. mine[4])
  extend(s, lease)
  if not cur[1] then
    keepToken(k, ctx) -- as a renewal does: the last token lives as long as the shared holders
  end
  return {1, mine[1], 0, 's', replicas(ARGV[9]), endedBy}
end
if stale(cur[1], me, cur[4], ARGV[11]) then
  return {0, cur[3], cur[2], redis.call('PTTL', k), replicas(ARGV[9]), endedBy}
end
if mine then
  if stale(me, me, mine[3], ARGV[11]) then
    return {0, mine[4], mine[1], mine[2] - nowMs, replicas(ARGV[9]), endedBy}
  end
  if place ~= '' and mine[3] == place then
    -- The hand-over granted the place the session has, shared whatever this request asks: an
    -- exclusive request (or a steal) answered so must not be taken for an exclusive grant.
    return {1, mine[1], 1, 's', replicas(ARGV[9]), endedBy}
  end
  redis.call('HDEL', s, me) -- Redis still has a grant the session gave up: let it go
  changed(ctx)
end
if cur[1] == me then
  if place ~= '' and cur[4] == place then
    return {1, cur[2], 1, 'x', replicas(ARGV[9]), endedBy} -- the hand-over granted the place the session has
  end
  -- Redis still has a grant the session let go (a release lost in a failover, a lock given up as
  -- LOST): let it go, so that the queue gets it first, and this request is answered as any other.
  redis.call('HDEL', k, 'owner', 'holder', 'attempt')
  changed(ctx)
  cur[1] = nil
end
if steal then
  local wait = quarantine(nowMs, ctx.quarantine, ctx.quarantineLength, ctx.marker)
  if wait > 0 then
    return {0, false, nextToken(k, clock, cur[2]), wait, replicas(ARGV[9]), endedBy}
  end
  local by = stamp(ARGV[8], nowMs)
  local function tell(owner, token)
    redis.call('PUBLISH', ctx.prefix .. ':stolen', owner .. '\n' .. token .. '\n' .. ctx.name .. '\n' .. by)
  end
  local ended -- the lowest token of the grants this steal ends
  if cur[1] then
    tell(cur[1], cur[2])
    ended = tonumber(cur[2])
    redis.call('HDEL', k, 'owner', 'holder', 'attempt')
  end
  for _, h in ipairs(sharedHolders(s, nowMs)) do
    tell(h[1], h[2])
    if not ended or tonumber(h[2]) < ended then
      ended = tonumber(h[2])
    end
  end
  redis.call('DEL', s)
  dropPlace(q, e, me)
  local token = nextToken(k, clock, cur[2])
  if ended then
    -- For renew.lua: a renewal of a grant this steal ended (its token from ended up to this one) is
    -- told who took it, whether the notice above comes later than the renewal's answer, or never.
    redis.call('HSET', k, 'stole', string.format('%.0f', ended) .. '|' .. token .. '|' .. by)
  end
  if mode == 'x' then
    redis.call('HSET', k, 'owner', me, 'holder', by, 'token', token, 'attempt', ARGV[11])
    redis.call('PEXPIRE', k, lease)
  else
    redis.call('HSET', s, me, token .. '|' .. string.format('%.0f', nowMs + lease) .. '|' .. ARGV[11] .. '|' .. by)
    extend(s, lease)
    redis.call('HSET', k, 'token', token)
    keepToken(k, ctx)
    if crowd then
      advance(k, q, e, s, ctx, clock, nowMs) -- shared requests at the head are let in beside the stealer
    end
  end
  changed(ctx)
  return {1, token, 1, mode, replicas(ARGV[9]), endedBy}
end
if crowd and advance(k, q, e, s, ctx, clock, nowMs) > 0 then
  cur = redis.call('HMGET', k, 'owner', 'token', 'holder', 'attempt')
end
if wasQueued and redis.call('HEXISTS', e, me) == 0 then
  -- The hand-over just now granted this session's queued request: that is the answer, in the
  -- mode the queued request asked.
  if cur[1] == me then
    return {1, cur[2], 1, 'x', replicas(ARGV[9]), endedBy}
  end
  mine = sharedOf(s, me, nowMs)
  if mine then
    return {1, mine[1], 1, 's', replicas(ARGV[9]), endedBy}
  end
end
-- What stands in the way: an exclusive holder, shared holders (of an exclusive request), a queue.
-- holder names the earliest current holder (of many shared ones, see aShared), or, if nobody
-- holds it, the queue's head; but a free lock whose queue was not handed it (the quarantine is
-- on) names nobody (false), with what is left of the quarantine, as a free lock without a queue
-- does.
local holder, pttl
local blocked = false
if cur[1] and cur[1] ~= me then
  holder, pttl, blocked = cur[3], redis.call('PTTL', k), true
end
local head, first
if crowd then
  head, first = queueHead(q, e, nowMs)
end
-- The shared holders stand in the way of an exclusive request; a shared one passes them unless
-- it queues, and does not read them (see sharedHolders).
if crowd and not blocked and (mode == 'x' or head) then
  local shared = aShared(s, nowMs)
  if shared then
    holder, pttl, blocked = shared[5], shared[3] - nowMs, mode == 'x'
  end
end
if head then
  blocked = true
  if not holder then
    local wait = quarantine(nowMs, ctx.quarantine, ctx.quarantineLength, ctx.marker)
    if wait > 0 then
      holder, pttl = false, wait
    else
      holder, pttl = first[5], tonumber(lease)
    end
  end
end
local token = cur[2]
if not blocked then
  token = nextToken(k, clock, cur[2])
  local wait = quarantine(nowMs, ctx.quarantine, ctx.quarantineLength, ctx.marker)
  if wait == 0 then
    if mode == 'x' then
      redis.call('HSET', k, 'owner', me, 'holder', stamp(ARGV[8], nowMs), 'token', token, 'attempt', ARGV[11])
      redis.call('PEXPIRE', k, lease)
    else
      pruneShared(k, s, nowMs)
      redis.call('HSET', s, me, token .. '|' .. string.format('%.0f', nowMs + lease) .. '|' .. ARGV[11] .. '|' .. stamp(ARGV[8], nowMs))
      extend(s, lease)
      redis.call('HSET', k, 'token', token)
      keepToken(k, ctx)
    end
    changed(ctx)
    return {1, token, 1, mode, replicas(ARGV[9]), endedBy}
  end
  holder, pttl, blocked = false, wait, true
end
if ARGV[13] == '1' then
  local expires = string.format('%.0f', nowMs + lease)
  local queued = redis.call('HGET', e, me)
  local attempt = ARGV[11]
  if queued then
    local f = fields(queued, 5)
    attempt = f[3]
    redis.call('HSET', e, me, f[1] .. '|' .. expires .. '|' .. f[3] .. '|' .. f[4] .. '|' .. f[5])
  else
    if redis.call('ZCARD', q) >= tonumber(ARGV[15]) then
      return {3, replicas(ARGV[9]), endedBy}
    end
    redis.call('ZADD', q, redis.call('HINCRBY', e, 'seq', 1), me)
    redis.call('HSET', e, me, mode .. '|' .. expires .. '|' .. ARGV[11] .. '|' .. ARGV[14] .. '|' .. stamp(ARGV[8], nowMs))
    changed(ctx)
  end
  extend(q, lease)
  extend(e, lease)
  if not cur[2] then
    -- A lock with a queue keeps a last token, which a WAIT names: one without (a queue formed in a
    -- quarantine on a lock Redis had forgotten) gets the token a grant would have had now.
    redis.call('HSET', k, 'token', token or nextToken(k, clock, false))
    keepToken(k, ctx)
  end
  if ARGV[19] ~= '' then
    local asker = stamp(ARGV[19], nowMs)
    local owners = {}
    if cur[1] and cur[1] ~= me then
      owners = {cur[1]}
    else
      for _, h in ipairs(sharedHolders(s, nowMs)) do
        table.insert(owners, h[1])
      end
    end
    for _, owner in ipairs(owners) do
      redis.call('PUBLISH', ctx.prefix .. ':asked', owner .. '\n' .. ctx.name .. '\n' .. asker)
    end
  end
  return {2, redis.call('ZRANK', q, me) + 1, holder, attempt, replicas(ARGV[9]), endedBy}
end
if holder then
  markWaited(k, ctx)
end
-- A lock hash without a token (expired or evicted while the lock was held shared or queued for)
-- names the token a grant would have had now: every grant the request waits for has a smaller
-- one, every later grant a larger one. ('0' was once answered, and a waiter took it for a release.)
return {0, holder, token or nextToken(k, clock, false), pttl, replicas(ARGV[9]), endedBy}
