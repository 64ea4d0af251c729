-- A session's record as resume reads it (KEYS[1]: <prefix>:session:<id>): node, generation,
-- secret hash, pending hash, '' for each that is missing. A script so that it is read on the
-- primary: Redisson sends a plain read where its read mode says (a replica, by default, with
-- Sentinel and Cluster), and a replica behind the primary has an earlier secret.
local r = redis.call('HMGET', KEYS[1], 'node', 'gen', 'secret', 'pending')
for i = 1, 4 do
  if not r[i] then
    r[i] = ''
  end
end
return r
