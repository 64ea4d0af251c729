-- Shared holders, the queue, and the hand-over of a released lock, for every script that grants
-- or releases. One lock has four keys (all in one hash slot):
--   k  the lock hash: owner, holder, token, attempt of the exclusive holder; token (the last
--      token of either mode) and w (someone was told WAIT) also while it is free or held shared
--      (then it lives at least the larger of lease and token memory from the last shared grant or
--      renewal, so as long as the shared holders; a queue formed without it makes it);
--   q  the queue, a sorted set: owner -> place (a number that only grows);
--   e  the queued requests, a hash: owner -> '<mode>|<expires, ms>|<attempt>|<node>|<holder>',
--      and 'seq', the last place given;
--   s  the shared holders, a hash: owner -> '<token>|<expires, ms>|<attempt>|<holder>'.
-- A holder is stamped: '<since, ms>;<name>' or '<since, ms>;<name>\n<info>' (a name has no control
-- characters), since being when it was granted or queued.
-- Modes are 'x' (exclusive) and 's' (shared). Expiry times are on the Redis clock; a queued request
-- or shared grant past its expiry is dead and removed when met. Every write to q, e or s makes the
-- key live at least as long as the entry written (one lease of the writing node, or what is left of
-- a handed-over request), and never shortens its TTL (extend, below): the nodes of one prefix may run
-- different leases, and a short-lease node's write must not take a long-lease node's entries with
-- it. So each outlives every entry in it, and by at most the longest lease of the prefix's nodes:
-- nothing is left of a lock whose queue and shared holders are gone. k while held exclusive lives
-- exactly its holder's lease.

-- Every script that grants or releases starts its ARGV alike: owner, lease, token memory, flags
-- ('q<ms>' if the quarantine is on, lasting ms: the longest lease of the prefix's nodes, see
-- NodeLeases; 'w' if changes are published for watchers), the key prefix
-- (channels are named from it), the granted channel prefix, and how long to keep the last token
-- of a lock nobody holds exclusively (the larger of lease and token memory), all in ms. Its last
-- key is the quarantine marker.
local function flag(f)
  return string.find(ARGV[4], f, 1, true) ~= nil
end

-- How long a quarantine lasts, in ms: the length given with 'q', or (a bare 'q') this node's lease.
local function quarantineLength()
  return tonumber(string.match(ARGV[4], 'q(%d+)')) or tonumber(ARGV[2])
end

local function context(name)
  return {owner = ARGV[1], lease = ARGV[2], tokenMemory = ARGV[3], quarantine = flag('q'),
          quarantineLength = quarantineLength(), channel = ARGV[5] .. ':released',
          changes = flag('w') and ARGV[5] .. ':changed', prefix = ARGV[5], granted = ARGV[6], keep = ARGV[7],
          marker = KEYS[#KEYS], name = name}
end

-- Tells the nodes that watch locks that this lock's holders or queue changed: its name on
-- '<prefix>:changed', once per script. Nobody listens unless a node has a watch: the cost of an
-- unwatched change is this PUBLISH to a channel without subscribers (about a microsecond of Redis
-- time, as much as any check whether somebody watches would cost: scripts/lua-cost.py). Without 'w' in the flags (watching
-- turned off in every node's LockConfig) nothing is published.
local function changed(ctx)
  if ctx.changes and not ctx.told then
    ctx.told = true
    redis.call('PUBLISH', ctx.changes, ctx.name)
  end
end

-- A holder stamped with the time of its grant or place: see the top of this file.
local function stamp(holder, nowMs)
  return string.format('%.0f', nowMs) .. ';' .. holder
end

-- The same holder, stamped anew (a place becomes a grant).
local function restamp(stamped, nowMs)
  return stamp(string.sub(stamped, (string.find(stamped, ';', 1, true) or 0) + 1), nowMs)
end

-- The Redis clock, in µs and in ms.
local function clockNow()
  local t = redis.call('TIME')
  return t[1] * 1000000 + t[2], t[1] * 1000 + math.floor(t[2] / 1000)
end

-- v split on '|' into n fields; the last keeps any '|' (holders are names).
local function fields(v, n)
  local out = {}
  local from = 1
  for i = 1, n - 1 do
    local at = string.find(v, '|', from, true)
    out[i] = string.sub(v, from, at - 1)
    from = at + 1
  end
  out[n] = string.sub(v, from)
  return out
end

-- The next fencing token of a lock: above its last one and, should Redis have forgotten that,
-- above every earlier one (the clock in µs). last is the lock's token field if the caller has
-- just read it (false or nil if it has none), otherwise it is read here.
local function nextToken(k, clock, last)
  if last == nil then
    last = redis.call('HGET', k, 'token')
  end
  return string.format('%.0f', math.max((tonumber(last) or 0) + 1, clock))
end

-- Makes key live at least ms more (a key without a TTL gets one), never shortening its TTL: for the
-- keys that hold entries of several sessions, or outlive them (q, e, s, and k while nobody holds it
-- exclusively), whose writers may be nodes with other leases (see the top of this file). PEXPIRE GT
-- would need Redis 7, and never sets a TTL on a key without one. Never for k while held exclusive:
-- its TTL is the holder's lease, set exactly.
local function extend(key, ms)
  if redis.call('PTTL', key) < tonumber(ms) then
    redis.call('PEXPIRE', key, ms)
  end
end

-- Keeps the last token of a lock that nobody holds exclusively (a k without expiry would stay
-- forever), for at least ctx.keep more.
local function keepToken(k, ctx)
  extend(k, ctx.keep)
end

-- The live shared holders, the dead ones removed: {owner, token, expires, attempt, holder}, in no
-- order. It reads every holder: with thousands, milliseconds of Redis's one thread; a request
-- reads aShared instead.
local function sharedHolders(s, nowMs)
  local all = redis.call('HGETALL', s)
  local live = {}
  for i = 1, #all, 2 do
    local f = fields(all[i + 1], 4)
    if tonumber(f[2]) > nowMs then
      table.insert(live, {all[i], f[1], tonumber(f[2]), f[3], f[4]})
    else
      redis.call('HDEL', s, all[i])
    end
  end
  return live
end

-- The earliest granted of these shared holders (from sharedHolders), or nil.
local function earliest(shared)
  local found
  for _, h in ipairs(shared) do
    if not found or tonumber(h[2]) < tonumber(found[2]) then
      found = h
    end
  end
  return found
end

-- A live shared holder not except's (as sharedHolders gives them), or nil: for what a request
-- needs to know, whether one stands in its way, and one to name. The earliest granted of a first
-- page (HSCAN): a small hash is all of it (cursor 0 back: up to 512 holders whose values are
-- short, which Redis keeps as a list, else about 16), so the earliest of all is named; of a
-- larger one, the earliest of a few buckets. Only a page without one (or an empty page, which
-- HSCAN may give) of a larger hash reads them all. With any set, the first live one found: for
-- whether one is left, not which.
local function aShared(s, nowMs, except, any)
  local scan = redis.call('HSCAN', s, 0, 'COUNT', 16)
  local page, at, low = scan[2], nil, nil
  for i = 1, #page, 2 do
    if page[i] ~= except then
      local token, expires = string.match(page[i + 1], '^(%d+)|(%d+)|')
      if tonumber(expires) > nowMs and (not low or tonumber(token) < low) then
        at, low = i, tonumber(token)
        if any then
          break
        end
      end
    end
  end
  if at then
    local f = fields(page[at + 1], 4)
    return {page[at], f[1], tonumber(f[2]), f[3], f[4]}
  end
  if scan[1] == '0' then
    return nil
  end
  local others = {}
  for _, h in ipairs(sharedHolders(s, nowMs)) do
    if h[1] ~= except then
      table.insert(others, h)
    end
  end
  return earliest(others)
end

-- Before a shared grant, which does not read the holders: the dead ones (of nodes that died
-- holding) are removed once the hash has doubled since they last were (its live count then, 'sp'
-- in the lock hash), so that a lock only ever read keeps at most twice that count, at a constant
-- cost per grant on average (the read itself takes milliseconds past a few thousand holders).
local function pruneShared(k, s, nowMs)
  if redis.call('HLEN', s) >= math.max(64, 2 * (tonumber(redis.call('HGET', k, 'sp')) or 0)) then
    redis.call('HSET', k, 'sp', #sharedHolders(s, nowMs))
  end
end

-- This session's live shared grant {token, expires, attempt, holder}, or nil.
local function sharedOf(s, owner, nowMs)
  local v = redis.call('HGET', s, owner)
  if not v then
    return nil
  end
  local f = fields(v, 4)
  if tonumber(f[2]) <= nowMs then
    redis.call('HDEL', s, owner)
    return nil
  end
  return f
end

-- Removes a queued request; nothing is left of an empty queue. True if it was queued.
local function dropPlace(q, e, owner)
  local removed = redis.call('ZREM', q, owner) == 1
  redis.call('HDEL', e, owner)
  if redis.call('ZCARD', q) == 0 then
    redis.call('DEL', e)
  end
  return removed
end

-- The first live queued request, dead ones removed: owner and {mode, expires, attempt, node, holder}, or nil.
local function queueHead(q, e, nowMs)
  while true do
    local head = redis.call('ZRANGE', q, 0, 0)[1]
    if not head then
      return nil -- dropPlace deleted e with the last place
    end
    local v = redis.call('HGET', e, head)
    if v then
      local f = fields(v, 5)
      if tonumber(f[2]) > nowMs then
        return head, f
      end
    end
    dropPlace(q, e, head)
  end
end

-- Hands a lock nobody holds exclusively to the head of its queue: an exclusive request once no
-- shared holder is left; shared requests, as many as stand at the head, while no exclusive
-- request is before them. Each grant has a fresh token and lasts no longer than the queued
-- request would have (a request of a dead node holds the lock at most until then). Its node is
-- told on '<granted prefix><node>': '<owner>:<attempt>:<token>:<mode>:<name>', unless it is
-- ctx.localNode (the node running the script, if it asked): that message goes into
-- ctx.localGrants, for the script to answer, and saves a PUBLISH and its delivery. Returns how
-- many were granted.
local function advance(k, q, e, s, ctx, clock, nowMs)
  if redis.call('EXISTS', q) == 0 or redis.call('HEXISTS', k, 'owner') == 1 then
    return 0
  end
  local granted = 0
  while true do
    local head, f = queueHead(q, e, nowMs)
    -- Shared holders are looked for only before an exclusive head (nothing granted yet, so none added).
    if not head or (f[1] == 'x' and (granted > 0 or aShared(s, nowMs, nil, true))) then
      return granted
    end
    if granted == 0 and quarantine(nowMs, ctx.quarantine, ctx.quarantineLength, ctx.marker) > 0 then
      return 0
    end
    local token = nextToken(k, clock)
    dropPlace(q, e, head)
    if f[1] == 'x' then
      redis.call('HSET', k, 'owner', head, 'holder', restamp(f[5], nowMs), 'token', token, 'attempt', f[3])
      redis.call('PEXPIRE', k, tonumber(f[2]) - nowMs)
    else
      pruneShared(k, s, nowMs)
      redis.call('HSET', s, head, token .. '|' .. f[2] .. '|' .. f[3] .. '|' .. restamp(f[5], nowMs))
      extend(s, tonumber(f[2]) - nowMs) -- as long as the grant, which may be longer than this node's lease
      redis.call('HSET', k, 'token', token)
      extend(k, math.max(tonumber(ctx.keep), tonumber(f[2]) - nowMs)) -- the last token (and 'w') as long as the grant, too
    end
    local told = head .. ':' .. f[3] .. ':' .. token .. ':' .. f[1] .. ':' .. ctx.name
    if f[4] == ctx.localNode then
      table.insert(ctx.localGrants, told)
    else
      redis.call('PUBLISH', ctx.granted .. f[4], told)
    end
    granted = granted + 1
    changed(ctx)
    if f[1] == 'x' then
      return granted
    end
  end
end

-- After a grant ended (released, or left behind by its dead holder): hand the lock over, or, if
-- nobody holds it now and somebody was told WAIT, publish '<last token>:<released at, µs>:<name>'.
-- cur is the lock hash's {owner, token, w} after the grant ended: a hand-over changes nothing of
-- it unless it grants, and then nothing more is done.
local function freed(k, q, e, s, ctx, clock, nowMs, cur)
  if advance(k, q, e, s, ctx, clock, nowMs) > 0 then
    return
  end
  if cur[1] or not cur[3] or aShared(s, nowMs, nil, true) then
    return
  end
  redis.call('HDEL', k, 'w')
  -- Without a token (the hash expired or was evicted while held shared, and a WAIT made it anew)
  -- the clock stands for it: nobody holds the lock, so every grant up to now has ended.
  local at = string.format('%.0f', clock)
  redis.call('PUBLISH', ctx.channel, (cur[2] or at) .. ':' .. at .. ':' .. ctx.name)
end

-- Releases the grant of owner named by token or attempt (the other ''), in either mode. True if released.
local function releaseGrant(k, q, e, s, ctx, owner, token, attempt, clock, nowMs, upTo)
  local cur = redis.call('HMGET', k, 'owner', 'token', 'w', 'attempt')
  if cur[1] == owner and (token == '' or cur[2] == token) and (attempt == '' or cur[4] == attempt)
      and not renamedPast(cur[4], upTo) then
    redis.call('HDEL', k, 'owner', 'holder', 'attempt')
    redis.call('PEXPIRE', k, ctx.tokenMemory)
    cur[1] = false
  else
    local mine = sharedOf(s, owner, nowMs)
    if not mine or (token ~= '' and mine[1] ~= token) or (attempt ~= '' and mine[3] ~= attempt) or renamedPast(mine[3], upTo) then
      return false
    end
    redis.call('HDEL', s, owner)
  end
  changed(ctx)
  freed(k, q, e, s, ctx, clock, nowMs, cur)
  return true
end

-- Marks a lock as waited for, so that its release is published.
local function markWaited(k, ctx)
  redis.call('HSET', k, 'w', '1')
  if redis.call('PTTL', k) < 0 then
    keepToken(k, ctx)
  end
end
