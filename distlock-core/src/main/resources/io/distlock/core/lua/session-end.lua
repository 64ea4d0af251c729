-- Claim a session's end (KEYS[1]: its record; ARGV: 1 this node, 2 the generation it owns): a node
-- releases a session's locks (close, grace over) only after winning this claim. 1: won, the record
-- is deleted, so no adoption can follow; 0: another node (or a later generation) has it, release
-- nothing; -1: there is no record (it expired: nobody can adopt it either).
local f = redis.call('HMGET', KEYS[1], 'node', 'gen')
if not f[1] then
  return -1
end
if f[1] ~= ARGV[1] or f[2] ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
