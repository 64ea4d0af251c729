-- A node's beat, every renewal tick while the quarantine is on (KEYS[1]: '<prefix>:nodes', a hash:
-- node id -> '<lease, ms>|<expires, ms of the Redis clock>'; ARGV: 1 the node's id, 2 its lease in
-- ms, or '' when it leaves). Records the node for one lease (or removes it), drops the records
-- that expired, and answers the leases of the other live nodes: {lease, ...}, one per node. A
-- record with more after its expiry (a later version's) is read as far as this one knows it; one
-- without a readable expiry (or one of more than 15 digits, past what PEXPIRE takes) is left
-- alone, and goes with the hash once no node beats; a lease of more than 12 digits is not told
-- (nobody runs a lease of 30 years; Java could not read 20 digits).
local t = redis.call('TIME')
local nowMs = t[1] * 1000 + math.floor(t[2] / 1000)
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. string.format('%.0f', nowMs + tonumber(ARGV[2])))
end
local others, last = {}, nowMs
local records = redis.call('HGETALL', KEYS[1])
for i = 1, #records, 2 do
  local lease, expires = string.match(records[i + 1], '^(%d+)|(%d+)')
  if expires and #expires > 15 then
    expires = nil
  end
  if expires and tonumber(expires) <= nowMs then
    redis.call('HDEL', KEYS[1], records[i])
  elseif expires then
    last = math.max(last, tonumber(expires))
    if records[i] ~= ARGV[1] and #lease <= 12 then
      table.insert(others, lease)
    end
  end
end
if last > nowMs then
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', last - nowMs))
end
return others
