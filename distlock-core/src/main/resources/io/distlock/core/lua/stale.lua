-- Whether this lock attempt (ARGV[7], the session's attempt number) is older than the
-- one that granted the session the lock it holds now: a copy that arrived late (or was sent
-- twice) must not replace a newer grant, which a late undo of the old attempt would then free.
-- It is answered like a lock held by another session, and changes nothing.
local function stale(owner, attempt)
  return owner == ARGV[1] and attempt and tonumber(attempt) > tonumber(ARGV[7])
end
