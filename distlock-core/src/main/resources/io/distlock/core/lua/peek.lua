-- Peek (KEYS: the lock, the quarantine marker; ARGV[1] is 1 when the
-- quarantine is on): {owner or '', token or '', pttl, 0}, or, for a free lock while a
-- quarantine runs, {'', token or '', what is left of the quarantine, 1}: a re-check
-- does not tell waiters a lock is free while no lock can be granted. It only honours a
-- quarantine that a grant started; it does not look for a data loss itself. A fifth element
-- is the Redis clock in µs: any later grant of the lock has a larger token.
local cur = redis.call('HMGET', KEYS[1], 'owner', 'token')
local now = redis.call('TIME')
local clock = now[1] .. string.format('%06d', now[2])
if not cur[1] and ARGV[1] == '1' then
  local seen = redis.call('GET', KEYS[2])
  local untilMs = seen and tonumber(string.match(seen, ':(%d+)$'))
  if untilMs then
    local left = untilMs - (now[1] * 1000 + math.floor(now[2] / 1000))
    if left > 0 then
      return {'', cur[2] or '', left, 1, clock}
    end
  end
end
return {cur[1] or '', cur[2] or '', redis.call('PTTL', KEYS[1]), 0, clock}
