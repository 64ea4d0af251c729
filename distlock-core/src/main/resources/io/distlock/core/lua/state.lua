-- State (KEYS: k, q, e, s of a lock): who holds it and who queues for it, read in one step, dead
-- entries left out, nothing changed: {#holders, (owner, mode, holder, ms left)..., #queued,
-- (owner, mode, holder, ms left)...}, holders earliest grant first, the queue in its order.
local k, q, e, s = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local _, nowMs = clockNow()
local out = {0}
local cur = redis.call('HMGET', k, 'owner', 'holder')
if cur[1] then
  out = {1, cur[1], 'x', cur[2], redis.call('PTTL', k)}
else
  local all = redis.call('HGETALL', s)
  local live = {}
  for i = 1, #all, 2 do
    local f = fields(all[i + 1], 4)
    if tonumber(f[2]) > nowMs then
      table.insert(live, {all[i], tonumber(f[1]), f[4], tonumber(f[2]) - nowMs})
    end
  end
  table.sort(live, function(a, b) return a[2] < b[2] end)
  out = {#live}
  for _, h in ipairs(live) do
    table.insert(out, h[1])
    table.insert(out, 's')
    table.insert(out, h[3])
    table.insert(out, h[4])
  end
end
local at = #out + 1
table.insert(out, 0)
local count = 0
for _, owner in ipairs(redis.call('ZRANGE', q, 0, -1)) do
  local v = redis.call('HGET', e, owner)
  if v then
    local f = fields(v, 5)
    if tonumber(f[2]) > nowMs then
      count = count + 1
      table.insert(out, owner)
      table.insert(out, f[1])
      table.insert(out, f[5])
      table.insert(out, tonumber(f[2]) - nowMs)
    end
  end
end
out[at] = count
return out
