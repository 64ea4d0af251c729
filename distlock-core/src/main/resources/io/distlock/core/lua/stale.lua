-- Whether this lock attempt (its number in the session) is older than the one that granted
-- the session the lock it holds now: a copy that arrived late (or was sent twice) must not
-- replace a newer grant, which a late undo of the old attempt would then free. It is answered
-- like a lock held by another session, and changes nothing.
local function stale(owner, me, heldAttempt, attempt)
  return owner == me and heldAttempt and tonumber(heldAttempt) > tonumber(attempt)
end
