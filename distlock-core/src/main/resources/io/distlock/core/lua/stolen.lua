-- Who stole the grant with this token, if the lock's last steal ended it: the lock hash's 'stole'
-- field, '<lowest token ended>|<the steal's token>|<thief, stamped>' (see lock.lua), or nil.
local function thiefOf(stole, token)
  local low, high, thief = string.match(stole or '', '^(%d+)|(%d+)|(.*)$')
  token = tonumber(token)
  if low and token and token >= tonumber(low) and token < tonumber(high) then
    return thief
  end
  return nil
end
