-- Extend a session's record by one lease when nothing in it changed since its owner last wrote it
-- (KEYS[1]: <prefix>:session:<id>; ARGV: 1 node, 2 generation, 3 lease ms). A renewal tick of a
-- session with 1,000 long lock names rewrote ~560 KB each time with session-put.lua. Answers as
-- session-put.lua: 1 extended, 0 another node owns it (adopted: let go), 2 an older generation of
-- this node, -1 missing. ARGV[4] '1': 'pending' goes, as in session-put.lua.
local cur = redis.call('HMGET', KEYS[1], 'node', 'gen')
if not cur[1] then
  return -1
elseif cur[1] ~= ARGV[1] then
  return 0
elseif cur[2] ~= ARGV[2] then
  return 2
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[4] == '1' then
  redis.call('HDEL', KEYS[1], 'pending')
end
return 1
