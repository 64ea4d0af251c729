-- Lock all (KEYS: k, q, e, s of each lock, then the quarantine marker; ARGV: the common head (see
-- queue.lua), then 8 holder, 9 ask for replicas, 10 held flags (one character per lock), 11
-- attempt id, 12 mode, then the locks' names, then for each lock the attempt id of the place the
-- session believes it has in its queue, or '', then for each lock the token of the grant the
-- session holds, or ''): {1, (token, fresh)..., thieves, replicas} in key order, or
-- {0, (index, holder, token, pttl)..., thieves, replicas}; during a quarantine, every requested lock
-- that is free, with a nil holder as in LOCK. thieves: one per lock, the stamped thief of the grant
-- the session holds if the lock's last steal ended it, or false (see lock.lua's endedBy). Never
-- queues; a lock whose queue is not empty is not free.
local n = (#KEYS - 1) / 4
local me, lease, mode = ARGV[1], ARGV[2], ARGV[12]
local clock, nowMs = clockNow()
local function key(i, j)
  return KEYS[(i - 1) * 4 + j]
end
local function held(i)
  return string.sub(ARGV[10], i, i) == '1'
end
local conflicts = {}
local anyFree = false
local mine = {}
local ctxs = {}
local letGo = {}
local thieves = {}
-- Ends an answer: the thieves, then the replicas.
local function answer(t)
  for i = 1, n do
    table.insert(t, thieves[i])
  end
  table.insert(t, replicas(ARGV[9]))
  return t
end
for i = 1, n do
  local k, q, e, s = key(i, 1), key(i, 2), key(i, 3), key(i, 4)
  local ctx = context(ARGV[12 + i])
  ctxs[i] = ctx
  local cur = redis.call('HMGET', k, 'owner', 'token', 'holder', 'attempt', 'stole')
  thieves[i] = held(i) and thiefOf(cur[5], ARGV[12 + 2 * n + i]) or false
  mine[i] = sharedOf(s, me, nowMs)
  if not held(i) then
    -- Redis still has a grant the session let go (a release lost in a failover, a lock given up as
    -- LOST): let it go, as lock.lua does, so that the queue gets it first. Not a grant to the
    -- session's place (its GRANTED may be on the way), nor one newer than this request (stale.lua).
    local place = ARGV[12 + n + i]
    if cur[1] == me and cur[4] ~= place and not stale(me, me, cur[4], ARGV[11]) then
      redis.call('HDEL', k, 'owner', 'holder', 'attempt')
      changed(ctx)
      cur[1], cur[3], cur[4] = nil, nil, nil
      letGo[i] = true
    end
    if mine[i] and mine[i][3] ~= place and not stale(me, me, mine[i][3], ARGV[11]) then
      redis.call('HDEL', s, me)
      changed(ctx)
      mine[i] = nil
      letGo[i] = true
    end
    -- Likewise a place of the session that it does not know of (given up, or queued by a request
    -- whose answer was lost), before the hand-over below grants it to nobody; not one newer than
    -- this request (a late copy of it).
    local queued = redis.call('HGET', e, me)
    if queued then
      local attempt = fields(queued, 5)[3]
      if attempt ~= place and tonumber(attempt) < tonumber(ARGV[11]) then
        dropPlace(q, e, me)
        changed(ctx)
      end
    end
  end
  if advance(k, q, e, s, ctx, clock, nowMs) > 0 then
    cur = redis.call('HMGET', k, 'owner', 'token', 'holder', 'attempt')
    mine[i] = sharedOf(s, me, nowMs)
  end
  local holder, pttl
  if (cur[1] and cur[1] ~= me) or stale(cur[1], me, cur[4], ARGV[11]) then
    holder, pttl = cur[3], redis.call('PTTL', k)
  elseif mine[i] and stale(me, me, mine[i][3], ARGV[11]) then
    holder, pttl = mine[i][4], mine[i][2] - nowMs
  elseif not (cur[1] == me and held(i)) and not (mine[i] and held(i)) then
    local head, first = queueHead(q, e, nowMs)
    -- Other shared holders stand in the way of an exclusive request, and a queued request stands in
    -- the way of any: named are the shared holders it waits for, as in lock.lua, or else its own
    -- head; but during a quarantine the hand-over waits too, and a free lock with a queue is free,
    -- answered below as recovering. A shared request without a queue does not read them.
    local other = (mode == 'x' or head) and aShared(s, nowMs, me)
    if other then
      holder, pttl = other[5], other[3] - nowMs
    elseif head and quarantine(nowMs, flag('q'), quarantineLength(), KEYS[#KEYS]) == 0 then
      holder, pttl = first[5], tonumber(lease)
    end
    if not holder then
      anyFree = true
    end
  end
  if holder then
    if cur[1] ~= me then
      markWaited(k, ctx)
    end
    table.insert(conflicts, i)
    table.insert(conflicts, holder)
    table.insert(conflicts, redis.call('HGET', k, 'token') or nextToken(k, clock, false)) -- none: as in lock.lua
    table.insert(conflicts, pttl)
  end
end
-- The locks let go above and not taken: whoever was told WAIT for them is told they are free, as a
-- release tells them (queue.lua's freed), not left to the end of the grant's lease.
local function tellLetGo()
  for i in pairs(letGo) do
    local k = key(i, 1)
    freed(k, key(i, 2), key(i, 3), key(i, 4), ctxs[i], clock, nowMs, redis.call('HMGET', k, 'owner', 'token', 'w'))
  end
end
if #conflicts > 0 then
  tellLetGo()
  table.insert(conflicts, 1, 0)
  return answer(conflicts)
end
if anyFree then
  local wait = quarantine(nowMs, flag('q'), quarantineLength(), KEYS[#KEYS])
  if wait > 0 then
    tellLetGo()
    table.insert(conflicts, 0)
    for i = 1, n do
      if not ((redis.call('HGET', key(i, 1), 'owner') == me or mine[i]) and held(i)) then
        table.insert(conflicts, i)
        table.insert(conflicts, false)
        table.insert(conflicts, nextToken(key(i, 1), clock))
        table.insert(conflicts, wait)
      end
    end
    return answer(conflicts)
  end
end
local result = {1}
for i = 1, n do
  local k, s = key(i, 1), key(i, 4)
  local cur = redis.call('HMGET', k, 'owner', 'token')
  local token, fresh
  if cur[1] == me and held(i) then
    token, fresh = cur[2], 0
    redis.call('PEXPIRE', k, lease)
  elseif mine[i] and held(i) then
    token, fresh = mine[i][1], 0
    redis.call('HSET', s, me, token .. '|' .. string.format('%.0f', nowMs + lease) .. '|' .. mine[i][3] .. '|' .. mine[i][4])
    extend(s, lease)
    if not cur[1] then
      keepToken(k, ctxs[i]) -- as a renewal does: the last token lives as long as the shared holders
    end
  else
    token, fresh = nextToken(k, clock), 1
    changed(ctxs[i])
    redis.call('HDEL', s, me)
    if mode == 'x' then
      redis.call('HSET', k, 'owner', me, 'holder', stamp(ARGV[8], nowMs), 'token', token, 'attempt', ARGV[11])
      redis.call('PEXPIRE', k, lease)
    else
      if cur[1] == me then
        redis.call('HDEL', k, 'owner', 'holder', 'attempt')
      end
      pruneShared(k, s, nowMs)
      redis.call('HSET', s, me, token .. '|' .. string.format('%.0f', nowMs + lease) .. '|' .. ARGV[11] .. '|' .. stamp(ARGV[8], nowMs))
      extend(s, lease)
      redis.call('HSET', k, 'token', token)
      keepToken(k, ctxs[i])
    end
  end
  table.insert(result, token)
  table.insert(result, fresh)
end
return answer(result)
