-- Adopt a session (KEYS[1]: its record; ARGV: 1 the owner node read, 2 the generation read, 3 the
-- adopting node, 4 lease ms, 5 the adopted channel prefix, 6 the session id, 7 the new secret hash,
-- 8 '1' if the adopter proves what it takes over, renaming the listed places to the first ids of its
-- range in the record's order (another node's session, or a retry of an adoption whose answer never
-- came), '' if not (a resume on the session's own node)).
-- The registry is the arbiter between "adopt" and "grace over, release": whoever changes the record
-- first wins, the other finds it changed (a new generation, or gone). Refused ({0}) if the record
-- changed since it was read, or it is detached and its grace is over on the Redis clock. Otherwise
-- the record moves to the adopting node, attached, with a new generation and secret; the old node,
-- if another, is told on '<prefix>:adopted:<old node>' ('<id>:<generation>'), and the answer is
-- {1, generation, held locks, queue places, attempt counter, name, info, grace, deadlines}, the
-- attempt counter being where the adopting node's attempts start: past a gap of 2^32 over the count
-- last written, and written now (see Session.attemptsFrom), the
-- deadlines of places with a timeout as '<lock>\t<attempt>\t<ms left, 0 if passed>\n' each: none
-- unless the owner and generation that wrote them still own the record (a node that predates them,
-- in a rolling upgrade, adopts and writes places without them), and then they move with it.
-- The same adoption sent again (the record is the adopting node's, with the new secret hash it chose:
-- its first answer was lost or came too late) answers the same, and changes nothing but the expiry
-- and, if it proves, where the last proof started ('proved', below).
-- An adoption also keeps the hash of the secret it spent in 'pending' ('<generation>:<hash>') until its owner
-- writes the record once the resume's answer was given (session-put.lua and session-touch.lua clear it):
-- a resume sent again with that secret meanwhile (its client never got the answer, yet) is told to try again,
-- not that the session is gone.
-- The answer's tenth field is where the range of the last proof started ('' if none): a proof's
-- renamings are in the record only once its owner writes it (session-put.lua clears 'proved'); if
-- that write failed and the adopter died, the record still names the places by the ids the proof
-- replaced, and the next proof looks for the i-th listed place by that start + i too. 'proved' is
-- '<node>:<gen>|<start of the last proof>|<start of the one before this generation's adoption>', valid
-- while that owner and generation own the record (a node that predates it neither writes nor clears it,
-- but its adoption moves the generation on).
local r = KEYS[1]
local f = redis.call('HMGET', r, 'node', 'gen', 'state', 'until', 'locks', 'places', 'attempts', 'name', 'info', 'grace',
  'deadlines', 'downer', 'secret', 'proved')
local provedOwner, lastProof, proofBefore = string.match(f[14] or '', '^(.*)|(%d*)|(%d*)$')
if provedOwner ~= (f[1] or '') .. ':' .. (f[2] or '') then
  provedOwner, lastProof, proofBefore = nil, '', ''
end
local t = redis.call('TIME')
local nowMs = t[1] * 1000 + math.floor(t[2] / 1000)
if f[1] and f[1] == ARGV[3] and f[13] == ARGV[7] and f[3] == 'a' then
  local left = {}
  local deadlines = f[12] == f[1] .. ':' .. f[2] and f[11] or ''
  for lock, attempt, deadline in string.gmatch(deadlines, '([^\t\n]+)\t([^\t\n]+)\t(%d+)\n') do
    left[#left + 1] = lock .. '\t' .. attempt .. '\t' .. string.format('%.0f', math.max(0, tonumber(deadline) - nowMs)) .. '\n'
  end
  if ARGV[8] == '1' and provedOwner then
    -- A retry that proves (its first run may have been a same-node resume's): its own renamings are the last.
    redis.call('HSET', r, 'proved', provedOwner .. '|' .. (f[7] or '0') .. '|' .. proofBefore)
  end
  redis.call('PEXPIRE', r, ARGV[4])
  return {1, f[2], f[5] or '', f[6] or '', f[7] or '0', f[8] or '', f[9] or '', f[10] or '0', table.concat(left), proofBefore}
end
if not f[1] or f[1] ~= ARGV[1] or f[2] ~= ARGV[2] then
  return {0}
end
if f[3] == 'd' and tonumber(f[4]) <= nowMs then
  return {0}
end
local left = {} -- joined once (see session-put.lua)
local deadlines = f[12] == f[1] .. ':' .. f[2] and f[11] or ''
for lock, attempt, deadline in string.gmatch(deadlines, '([^\t\n]+)\t([^\t\n]+)\t(%d+)\n') do
  left[#left + 1] = lock .. '\t' .. attempt .. '\t' .. string.format('%.0f', math.max(0, tonumber(deadline) - nowMs)) .. '\n'
end
left = table.concat(left)
local gen = string.format('%.0f', tonumber(f[2]) + 1)
-- Written with the adoption, so that a next one, should this adopter die before its first record
-- write, starts past this adopter's range too.
local attempts = string.format('%.0f', (tonumber(f[7]) or 0) + 4294967296)
redis.call('HSET', r, 'node', ARGV[3], 'gen', gen, 'state', 'a', 'secret', ARGV[7], 'attempts', attempts, 'downer',
  deadlines ~= '' and ARGV[3] .. ':' .. gen or '', 'pending', gen .. ':' .. (f[13] or ''),
  'proved', ARGV[3] .. ':' .. gen .. '|' .. (ARGV[8] == '1' and attempts or lastProof) .. '|' .. lastProof)
redis.call('HDEL', r, 'until')
redis.call('PEXPIRE', r, ARGV[4])
if f[1] ~= ARGV[3] then
  redis.call('PUBLISH', ARGV[5] .. f[1], ARGV[6] .. ':' .. gen)
end
return {1, gen, f[5] or '', f[6] or '', attempts, f[8] or '', f[9] or '', f[10] or '0', left, lastProof}
