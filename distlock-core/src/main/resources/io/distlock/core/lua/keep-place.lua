-- Keep a queued request's place (KEYS: k, q, e, s, the quarantine marker; ARGV: the common head
-- (see queue.lua), then 8 the lock's name, 9 the attempt id that queued): extends its expiry by
-- a lease, 10 this node: grants of the place are told to it from now on (a resumed session's
-- places move with it), hands the lock over if it is free (its holder's lease ran out, or a dead
-- request was at the head) and this place is at the head, or the head is dead, and answers where
-- that place stands: {1, position} still queued, {2, token, mode} granted (maybe long before: the
-- message may have been lost), {0} neither (Redis lost it, or it expired). Only a grant made to this place counts; another grant of the session is not its.
-- 11 (an adoption's proof only): the attempt id the place, or its grant, is known by from now on,
-- one of the adopting node's: the old node's late requests are then older than it (stale.lua)
-- and its late keep-places find no place to keep. 12 (a proof only, '' for none): the id an earlier
-- adopter's proof gave this place, should that adopter have died without writing the record since,
-- which then still names the place by 9 (see LockService's prove): the place, or its grant, is
-- found by that id too.
local k, q, e, s = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local me, lease = ARGV[1], ARGV[2]
local attempt, known = ARGV[9], ARGV[11] or ARGV[9]
local renamed = ARGV[12] ~= '' and ARGV[12] or nil
local function ours(a)
  return a == attempt or a == known or a == renamed
end
local clock, nowMs = clockNow()
local v = redis.call('HGET', e, me)
if v then
  local f = fields(v, 5)
  if ours(f[3]) and tonumber(f[2]) > nowMs then
    redis.call('HSET', e, me, f[1] .. '|' .. string.format('%.0f', nowMs + lease) .. '|' .. known .. '|' .. (ARGV[10] or f[4]) .. '|' .. f[5])
    extend(q, lease)
    extend(e, lease)
  end
end
local ctx = context(ARGV[8])
-- Only the head's keep-place, or one that finds the head dead, hands over: a hand-over before an
-- exclusive head looks for a live shared holder (a first page of them, all of them if that page
-- has none alive), and each place of a long queue doing so every tick cost Redis places times
-- holders. A live head's own keep-place comes within a tick of its node (the longest tick, where
-- nodes of one prefix run different leases).
local first = redis.call('ZRANGE', q, 0, 0)[1]
local head = first and first ~= me and redis.call('HGET', e, first)
if first == me or (first and not (head and tonumber(fields(head, 5)[2]) > nowMs)) then
  advance(k, q, e, s, ctx, clock, nowMs)
end
local cur = redis.call('HMGET', k, 'owner', 'token', 'attempt')
if cur[1] == me and ours(cur[3]) then
  if cur[3] ~= known then
    redis.call('HSET', k, 'attempt', known)
  end
  return {2, cur[2], 'x'}
end
local mine = sharedOf(s, me, nowMs)
if mine and ours(mine[3]) then
  if mine[3] ~= known then
    redis.call('HSET', s, me, mine[1] .. '|' .. mine[2] .. '|' .. known .. '|' .. mine[4])
  end
  return {2, mine[1], 's'}
end
local rank = redis.call('ZRANK', q, me)
v = redis.call('HGET', e, me)
if rank and v and ours(fields(v, 5)[3]) then
  if tonumber(fields(v, 5)[2]) > nowMs then
    return {1, rank + 1}
  end
  -- Expired (not kept within its lease) while not at the head, where nothing removes it: it is
  -- dead, as the hand-over would find it; the session must not be told it still stands.
  dropPlace(q, e, me)
  changed(ctx)
end
return {0}
