"""The Lua shared by every script of the routing index: header, policy check, helpers.

Each script of :mod:`queues.lua_scripts` is ``HEAD + CHECK + HELPERS + its body``
(``rebuild`` leaves out ``CHECK``: it is what installs the policy). ``@SHIFT@``, ``@LEVELS@``
and ``@TOP@`` are replaced by the constants of :mod:`queues.routing` when the scripts are
assembled, so Lua and Python pack scores alike.

Every script gets ``KEYS[1]`` = the policy hash and ``ARGV[1..3]`` = key prefix, policy
fingerprint, now (epoch ms); its own arguments start at ``ARGV[4]``.
"""

from __future__ import annotations

# Scores reach 2**52, but Lua turns a number into a string with 14 significant digits (as in
# ZADD key 1.2345678901235e+15), which would round it: every score sent back to Redis goes
# through fmt(), which prints all digits. Strings are compared with before(), not "<": in
# Redis' Lua, "<" on strings follows the server's locale (strcoll), while sorted sets order
# members by bytes, and ties must be broken the same way in both places.
HEAD = """
local P, NOW = ARGV[1], tonumber(ARGV[3])
local SHIFT, LEVELS, TOP = @SHIFT@, @LEVELS@, @TOP@
local PKEY = P .. 'policy'
local LOOKAHEAD, CAP = 1, 1
"""

CHECK = """
local meta = redis.call('HMGET', PKEY, '@fingerprint', '@lookahead', '@recent_cap')
if not meta[1] then return redis.error_reply('NOINDEX routing index is empty; rebuild it') end
if meta[1] ~= ARGV[2] then return redis.error_reply('POLICY index has policy ' .. meta[1]) end
LOOKAHEAD, CAP = tonumber(meta[2]), tonumber(meta[3])
"""

HELPERS = """
local function fmt(n) return string.format('%.17g', n) end
local function before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function bump() return redis.call('INCR', P .. 'seq') end

local function get_call(id)
  local v = redis.call('HGET', P .. 'calls', id)
  if not v then return nil end
  local q, prio, entered, state, seat, since, oseq =
    string.match(v, '^(.-)|(.-)|(.-)|(.-)|(.-)|(.-)|(.-)$')
  return {id = id, q = q, prio = tonumber(prio), entered = tonumber(entered), state = state,
          seat = seat, since = tonumber(since), oseq = tonumber(oseq)}
end
local function put_call(c)
  redis.call('HSET', P .. 'calls', c.id, table.concat(
    {c.q, fmt(c.prio), fmt(c.entered), c.state, c.seat, fmt(c.since), fmt(c.oseq)}, '|'))
end
-- (Re)queue a call with the score of its original priority and entry time: a call that
-- comes back from an unanswered offer is again ahead of every call that entered after it.
local function wait_call(c)
  c.state, c.seat, c.since, c.oseq = 'waiting', '', 0, 0
  put_call(c)
  redis.call('ZADD', P .. 'wait:' .. c.q, fmt((TOP - c.prio) * SHIFT + c.entered), c.id)
end
-- An offer is answered or refused only by the seat it went to; with a sequence number the
-- callback must also belong to this very offer (0 = offer restored by rebuild: any).
local function holds(c, seat, oseq)
  return c and c.state == 'offered' and c.seat == seat
    and (oseq == '' or c.oseq == 0 or tonumber(oseq) == c.oseq)
end

local function seat_key(id) return P .. 'seat:' .. id end
local skills_of = {}  -- seat id -> parsed skills, for seats already read by this script
local function get_seat(id)
  local f = redis.call('HMGET', seat_key(id), 'state', 'skills', 'idle', 'call', 'due', 'serves')
  if not f[1] then return nil end
  local s = {id = id, state = f[1], text = f[2], idle = tonumber(f[3]), call = f[4] or '',
             due = tonumber(f[5]) or 0, serves = f[6] or '', skills = {}}
  for k, lv in string.gmatch(f[2], '([%w_]+):(%d+)') do
    s.skills[#s.skills + 1] = {k, tonumber(lv)}
  end
  skills_of[id] = s.skills
  return s
end
-- An available seat sits in the pool of each of its skills; any other state in none.
local function pools(s, add)
  for _, p in ipairs(s.skills) do
    if add then
      redis.call('ZADD', P .. 'idle:' .. p[1], fmt((LEVELS - p[2]) * SHIFT + s.idle), s.id)
    else
      redis.call('ZREM', P .. 'idle:' .. p[1], s.id)
    end
  end
end
local function recent(kind, q, ms)
  local key = P .. 'recent:' .. kind .. ':' .. q
  redis.call('LPUSH', key, fmt(ms))
  redis.call('LTRIM', key, 0, CAP - 1)
end

-- q:<queue> = "after_ms:own_min:rel=min,...;..." -> tiers of pools {skill, min level, group}
local policies = {}
local function policy(q)
  if policies[q] == nil then
    local spec, tiers = redis.call('HGET', PKEY, 'q:' .. q), false
    if spec then
      tiers = {}
      for after, own, rel in string.gmatch(spec, '(%d+):(%d+):([^;]*)') do
        local t = {after = tonumber(after), pools = {{q, tonumber(own), 0}}}
        for k, m in string.gmatch(rel, '([%w_]+)=(%d+)') do
          t.pools[#t.pools + 1] = {k, tonumber(m), 1}
        end
        tiers[#tiers + 1] = t
      end
    end
    policies[q] = tiers
  end
  return policies[q]
end
-- The queues a seat may serve (RoutingPolicy.served_by), stored with the seat.
local function served_by(s)
  local out = {}
  for q in string.gmatch(s.serves, '[^,]+') do out[#out + 1] = q end
  return out
end

local heads = {}
local function head(skill)
  if heads[skill] == nil then
    local z, h = redis.call('ZRANGE', P .. 'idle:' .. skill, 0, 0, 'WITHSCORES'), false
    if z[1] then
      local score = tonumber(z[2])
      h = {id = z[1], score = score, level = LEVELS - math.floor(score / SHIFT)}
    end
    heads[skill] = h
  end
  return heads[skill]
end
-- A pool's head is its best seat, so if the head is below the pool's minimum level no seat
-- of the pool qualifies. Best over pools: smallest (group, score, id).
local function best_seat(tier)
  local b
  for _, p in ipairs(tier.pools) do
    local h = head(p[1])
    if h and h.level >= p[2] and (not b or p[3] < b.group or (p[3] == b.group
        and (h.score < b.score or (h.score == b.score and before(h.id, b.id))))) then
      b = {id = h.id, score = h.score, level = h.level, skill = p[1], group = p[3]}
    end
  end
  return b
end
-- The first call of queue q, whose head is (id, score), that some available seat can take,
-- or nil. Tiers are nested, so find the narrowest tier with a seat; a call qualifies if it
-- waited long enough for that tier. The oldest call of a priority is the first of that
-- priority in the queue, so when it is too young the whole priority is: jump to the next
-- priority's head, at most LOOKAHEAD priorities deep.
local function candidate(q, id, score)
  local tiers = policy(q)
  if not tiers then return nil end
  local first
  for i, t in ipairs(tiers) do
    if best_seat(t) then first = i break end
  end
  if not first then return nil end
  local cutoff = first == 1 and math.huge or NOW - tiers[first].after
  local classes = 1
  while score % SHIFT > cutoff do
    if classes >= LOOKAHEAD then return nil end
    local z = redis.call('ZRANGE', P .. 'wait:' .. q, fmt((math.floor(score / SHIFT) + 1) * SHIFT),
                         '+inf', 'BYSCORE', 'LIMIT', 0, 1, 'WITHSCORES')
    if not z[1] then return nil end
    id, score, classes = z[1], tonumber(z[2]), classes + 1
  end
  local entered, tier = score % SHIFT, first
  while tiers[tier + 1] and NOW - entered >= tiers[tier + 1].after do tier = tier + 1 end
  return {id = id, q = q, score = score, tier = tier, seat = best_seat(tiers[tier])}
end
local function ahead(a, b)  -- queue order across queues: score, then call id
  return a.score < b.score or (a.score == b.score and before(a.id, b.id))
end
local function offer(c, out)
  local s = {id = c.seat.id, skills = skills_of[c.seat.id]}
  if not s.skills then s = get_seat(s.id) end
  redis.call('ZREM', P .. 'wait:' .. c.q, c.id)
  pools(s, false)
  local n = bump()
  -- a waiting call's record holds nothing its score does not: no need to read it
  local call = {id = c.id, q = c.q, prio = TOP - math.floor(c.score / SHIFT),
                entered = c.score % SHIFT, state = 'offered', seat = s.id, since = NOW, oseq = n}
  put_call(call)
  redis.call('ZADD', P .. 'offers', fmt(NOW), c.id)
  redis.call('HSET', seat_key(s.id), 'state', 'reserved', 'since', fmt(NOW), 'call', c.id)
  out[#out + 1] = {c.id, s.id, c.q, c.seat.skill, c.seat.level, call.prio, call.entered,
                   c.tier - 1, n}
end
-- Offer the best call of these queues to its best seat, up to max_offers times. A queue's
-- candidate is never ahead of its head, so queues are visited in the order of their heads
-- (picked by a scan: cheaper here than table.sort) and the search stops at the first head
-- not ahead of the best candidate: usually the first queue decides, and only its policy
-- and seat pools are read.
local function decide(queues, max_offers)
  local out = {}
  while #out < max_offers do
    heads = {}
    local order = {}
    for _, q in ipairs(queues) do
      local z = redis.call('ZRANGE', P .. 'wait:' .. q, 0, 0, 'WITHSCORES')
      if z[1] then order[#order + 1] = {q = q, id = z[1], score = tonumber(z[2])} end
    end
    local best
    while true do
      local pick
      for _, h in ipairs(order) do
        if not h.seen and (not pick or ahead(h, pick)) then pick = h end
      end
      if not pick or (best and not ahead(pick, best)) then break end
      pick.seen = true
      local c = candidate(pick.q, pick.id, pick.score)
      if c and (not best or ahead(c, best)) then best = c end
    end
    if not best then break end
    offer(best, out)
  end
  return out
end
local function rank(id)
  local c = get_call(id)
  if not c or c.state ~= 'waiting' then return -1 end
  return redis.call('ZRANK', P .. 'wait:' .. c.q, id)
end
"""
