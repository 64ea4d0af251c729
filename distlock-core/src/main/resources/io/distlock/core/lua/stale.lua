-- Whether this lock attempt (its number in the session) is older than the one that granted
-- the session the lock it holds now: a copy that arrived late (or was sent twice) must not
-- replace a newer grant, which a late undo of the old attempt would then free. It is answered
-- like a lock held by another session, and changes nothing.
local function stale(owner, me, heldAttempt, attempt)
  return owner == me and heldAttempt and tonumber(heldAttempt) > tonumber(attempt)
end

-- Whether a grant of the session, made or renamed as attempt heldAttempt, is past the attempts the
-- caller's node has made for the session (upTo; '' for no bound): an adoption's proof renamed it
-- to one of the adopter's (which come after a gap), so it is that node's now, not the caller's,
-- which is the old node sending late. Its renewals and releases by token must not touch it.
local function renamedPast(heldAttempt, upTo)
  return upTo ~= nil and upTo ~= '' and tonumber(heldAttempt) ~= nil and tonumber(heldAttempt) > tonumber(upTo)
end
