-- Write a session's record (KEYS[1]: <prefix>:session:<id>; ARGV: 1 node, 2 generation, 3 lease ms,
-- 4 state 'a' (attached) or 'd' (detached), 5 grace ms, 6 held locks, 7 queue places, 8 attempt
-- counter, 9 '1' to create the record if it is missing, 10 secret hash, 11 name, 12 info, 13 the
-- deadlines of places with a timeout, '<lock>\t<attempt>\t<ms left>\n' each, kept as ms of the Redis
-- clock in 'deadlines', so that a node that adopts the session keeps them; a separate field,
-- which nodes that predate it leave alone: 'downer' says which owner and generation wrote it).
-- Only the node that owns the session, in the generation it knows, writes it: 1 written, 0 another
-- node owns it (it was adopted: let go), 2 an older generation of this node (ignored), -1 missing
-- and not created. A detached record gets 'until' (Redis ms when the grace ends) when it detaches.
-- ARGV[14] '1': the last resume's answer was given (or never will be): 'pending' (see session-adopt.lua) goes.
local r = KEYS[1]
local cur = redis.call('HMGET', r, 'node', 'gen', 'state')
if not cur[1] then
  if ARGV[9] ~= '1' then
    return -1
  end
  redis.call('HSET', r, 'node', ARGV[1], 'gen', ARGV[2], 'name', ARGV[11], 'info', ARGV[12], 'grace', ARGV[5])
elseif cur[1] ~= ARGV[1] then
  return 0
elseif cur[2] ~= ARGV[2] then
  return 2
end
-- Built as a table and joined once: appending to a string copies it each time, which for a
-- session's 1,000 places with long names blocked Redis for ~100 ms at every write.
local deadlines = {}
if ARGV[13] and ARGV[13] ~= '' then
  local t = redis.call('TIME')
  local nowMs = t[1] * 1000 + math.floor(t[2] / 1000)
  for lock, attempt, left in string.gmatch(ARGV[13], '([^\t\n]+)\t([^\t\n]+)\t(%d+)\n') do
    deadlines[#deadlines + 1] = lock .. '\t' .. attempt .. '\t' .. string.format('%.0f', nowMs + tonumber(left)) .. '\n'
  end
end
deadlines = table.concat(deadlines)
-- With the owner's secret as it knows it: the same as the record's, unless a resume whose answer
-- never reached its client gave back the secret it had spent (Session.detach(int, boolean)).
local fields = {'locks', ARGV[6], 'places', ARGV[7], 'attempts', ARGV[8], 'deadlines', deadlines,
  'downer', ARGV[1] .. ':' .. ARGV[2]}
if ARGV[10] ~= '' or not cur[1] then
  fields[#fields + 1] = 'secret'
  fields[#fields + 1] = ARGV[10]
end
redis.call('HSET', r, unpack(fields))
if ARGV[14] == '1' then
  redis.call('HDEL', r, 'pending')
end
redis.call('HDEL', r, 'proved') -- the places as listed now are what Redis knows them by (see session-adopt.lua)
if ARGV[4] == 'd' then
  if cur[3] ~= 'd' then
    local t = redis.call('TIME')
    local nowMs = t[1] * 1000 + math.floor(t[2] / 1000)
    redis.call('HSET', r, 'state', 'd', 'until', string.format('%.0f', nowMs + tonumber(ARGV[5])))
  end
else
  redis.call('HSET', r, 'state', 'a')
  redis.call('HDEL', r, 'until')
end
redis.call('PEXPIRE', r, ARGV[3])
return 1
