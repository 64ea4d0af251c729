-- State (KEYS: k, q, e, s of a lock): who holds it and who queues for it, read in one step, nothing
-- changed. Redis's one thread only gathers; the node parses, leaves dead entries out and sorts
-- (a lock with a long queue is read often while watched: Watches). Answers
-- {now (ms, Redis clock), the exclusive owner or false, its holder, its pttl, n, the n fields and
-- values of s, m, the queue's m owners in order, their m values in e (false where none)}.
-- s is not read while the lock is held exclusively: no shared grant counts then.
local k, q, e, s = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local _, nowMs = clockNow()
local cur = redis.call('HMGET', k, 'owner', 'holder')
local out
if cur[1] then
  out = {nowMs, cur[1], cur[2], redis.call('PTTL', k), 0}
else
  local all = redis.call('HGETALL', s)
  out = {nowMs, false, false, 0, #all}
  for i = 1, #all do
    out[#out + 1] = all[i]
  end
end
local owners = redis.call('ZRANGE', q, 0, -1)
out[#out + 1] = #owners
for i = 1, #owners do
  out[#out + 1] = owners[i]
end
-- HMGET in slices: unpack puts every argument on Lua's stack, which holds 8,000.
for from = 1, #owners, 1000 do
  local values = redis.call('HMGET', e, unpack(owners, from, math.min(from + 999, #owners)))
  for i = 1, #values do
    out[#out + 1] = values[i]
  end
end
return out
