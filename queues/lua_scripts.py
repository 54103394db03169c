"""The bodies of the routing index's Lua scripts, one per operation of ``RedisIndex``.

Each comment says what the script takes (from ``ARGV[4]`` on) and returns. The rule the
decision follows is specified in :mod:`queues.routing`; the shared functions (``decide``,
``offer``, ``wait_call``, ``holds`` ...) are in :mod:`queues.lua_prelude`.
"""

from __future__ import annotations

from queues.lua_prelude import CHECK, HEAD, HELPERS
from queues.routing import LEVEL_SLOTS, SCORE_SHIFT
from queues.skills import MAX_PRIORITY

BODIES = {
    # ARGV[4..8]: call id, queue, priority, entered, max offers -> {seq, rank, offers}
    "enqueue": """
local id, q = ARGV[4], ARGV[5]
if not policy(q) then return redis.error_reply('UNKNOWN queue ' .. q) end
if get_call(id) then return {0, rank(id), {}} end
wait_call({id = id, q = q, prio = tonumber(ARGV[6]), entered = tonumber(ARGV[7])})
local n = bump()
local out = decide({q}, tonumber(ARGV[8]))
return {n, rank(id), out}
""",
    # ARGV[4..7]: seat, new state, release ('' = set; '*' or a due time = end of wrap-up),
    # max offers -> {seq, previous state, offers}
    "seat_state": """
local s = get_seat(ARGV[4])
if not s then return redis.error_reply('UNKNOWN seat ' .. ARGV[4]) end
local new, due = ARGV[5], ARGV[6]
if due ~= '' and (s.state ~= 'wrap_up' or (due ~= '*' and tonumber(due) ~= s.due)) then
  return {0, s.state, {}}  -- a stale release job: the seat left that wrap-up already
end
-- a reserved or on_call seat changes only through its call: answer, no-answer, hang-up
if s.state == new or s.state == 'reserved' or s.state == 'on_call' then return {0, s.state, {}} end
if s.state == 'available' then pools(s, false) end
if new == 'available' then s.idle = NOW end  -- "longest idle" counts from now
redis.call('HSET', seat_key(s.id), 'state', new, 'since', fmt(NOW), 'call', '', 'due', '0',
           'idle', fmt(s.idle))
local n, out = bump(), {}
if new == 'available' then
  pools(s, true)
  out = decide(served_by(s), tonumber(ARGV[7]))
end
return {n, s.state, out}
""",
    # ARGV[4..7]: seat, skills text, queues served, max offers -> {seq, state, offers}
    "upsert_seat": """
local s = get_seat(ARGV[4])
if not s then
  redis.call('HSET', seat_key(ARGV[4]), 'state', 'offline', 'skills', ARGV[5], 'serves', ARGV[6],
             'idle', fmt(NOW), 'since', fmt(NOW), 'call', '', 'due', '0')
  redis.call('SADD', P .. 'seats', ARGV[4])
  return {bump(), 'offline', {}}
end
if s.text == ARGV[5] and s.serves == ARGV[6] then return {0, s.state, {}} end
if s.state == 'available' then pools(s, false) end
redis.call('HSET', seat_key(s.id), 'skills', ARGV[5], 'serves', ARGV[6])
s = get_seat(s.id)
local n, out = bump(), {}
if s.state == 'available' then
  pools(s, true)
  out = decide(served_by(s), tonumber(ARGV[7]))
end
return {n, s.state, out}
""",
    # ARGV[4..6]: call, seat, offer seq or '' -> seq (0: not an offer held by that seat)
    "answer": """
local c = get_call(ARGV[4])
if not holds(c, ARGV[5], ARGV[6]) then return 0 end
c.state, c.since = 'connected', NOW
put_call(c)
redis.call('ZREM', P .. 'offers', c.id)
redis.call('HSET', seat_key(c.seat), 'state', 'on_call', 'since', fmt(NOW))
recent('wait', c.q, NOW - c.entered)
return bump()
""",
    # ARGV[4..7]: call, seat, offer seq or '', max offers -> {seq, offers}
    "no_answer": """
local c = get_call(ARGV[4])
if not holds(c, ARGV[5], ARGV[6]) then return {0, {}} end
redis.call('ZREM', P .. 'offers', c.id)
redis.call('HSET', seat_key(c.seat), 'state', 'missed', 'since', fmt(NOW), 'call', '')
wait_call(c)
local n = bump()
return {n, decide({c.q}, tonumber(ARGV[7]))}
""",
    # ARGV[4..6]: call, seat, offer seq or '' -> seq (0: not an offer held by that seat).
    # The offer could not be delivered (the telephony side failed, not the seat): the call
    # goes back to the front of its queue and the seat is available with its old idle time.
    # No decision: the same pair would be made again at once; the next sweep decides.
    "retract": """
local c = get_call(ARGV[4])
if not holds(c, ARGV[5], ARGV[6]) then return 0 end
local s = get_seat(c.seat)
redis.call('ZREM', P .. 'offers', c.id)
wait_call(c)
if s and s.state == 'reserved' and s.call == c.id then
  redis.call('HSET', seat_key(s.id), 'state', 'available', 'since', fmt(NOW), 'call', '')
  pools(s, true)
end
return bump()
""",
    # ARGV[4]: call -> {seq (0: not withdrawn), state the call is in ('' = unknown)}
    "withdraw": """
local c = get_call(ARGV[4])
if not c then return {0, ''} end
if c.state ~= 'waiting' then return {0, c.state} end
redis.call('HDEL', P .. 'calls', c.id)
redis.call('ZREM', P .. 'wait:' .. c.q, c.id)
return {bump(), c.state}
""",
    # ARGV[4..6]: call, wrap-up ms ('' = the queue's), max offers
    # -> {seq, state the call was in, seat, wrap-up due, offers}
    "hangup": """
local c = get_call(ARGV[4])
if not c then return {0, '', '', 0, {}} end
redis.call('HDEL', P .. 'calls', c.id)
local s = c.seat ~= '' and get_seat(c.seat) or nil
if s and s.call ~= c.id then s = nil end  -- records disagree: leave the seat alone
local due, freed = 0, false
if c.state == 'waiting' then
  redis.call('ZREM', P .. 'wait:' .. c.q, c.id)
elseif c.state == 'offered' then
  redis.call('ZREM', P .. 'offers', c.id)
  if s and s.state == 'reserved' then
    -- not the seat's fault: it is available again with its old idle time, keeping its place
    redis.call('HSET', seat_key(s.id), 'state', 'available', 'since', fmt(NOW), 'call', '')
    pools(s, true)
    freed = true
  end
elseif s and s.state == 'on_call' then
  local wrap = ARGV[5] ~= '' and ARGV[5] or redis.call('HGET', PKEY, 'w:' .. c.q) or '0'
  due = NOW + tonumber(wrap)
  redis.call('HSET', seat_key(s.id), 'state', 'wrap_up', 'since', fmt(NOW), 'call', '',
             'due', fmt(due))
  recent('handle', c.q, NOW - c.since)
end
local n = bump()
return {n, c.state, c.seat, due, freed and decide(served_by(s), tonumber(ARGV[6])) or {}}
""",
    # ARGV[4..]: max offers, queues (none: all) -> offers
    "dispatch": """
local qs = {}
for i = 5, #ARGV do qs[#qs + 1] = ARGV[i] end
if #qs == 0 then
  for q in string.gmatch(redis.call('HGET', PKEY, '@queues'), '[^,]+') do qs[#qs + 1] = q end
end
return decide(qs, tonumber(ARGV[4]))
""",
    # ARGV[4..6]: call, seat, offer seq -> 1 if the call is ringing that seat for that offer
    "offer_held": "if holds(get_call(ARGV[4]), ARGV[5], ARGV[6]) then return 1 end return 0",
    "position": "return rank(ARGV[4])",
    # ARGV[4..]: queues -> per queue {waiting, oldest entered or -1, available seats}
    "stats": """
local out = {}
for i = 4, #ARGV do
  local key, oldest = P .. 'wait:' .. ARGV[i], -1
  local z = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  while z[1] do  -- the oldest call is the oldest head of one of the priorities
    local score = tonumber(z[2])
    if oldest < 0 or score % SHIFT < oldest then oldest = score % SHIFT end
    z = redis.call('ZRANGE', key, fmt((math.floor(score / SHIFT) + 1) * SHIFT), '+inf',
                   'BYSCORE', 'LIMIT', 0, 1, 'WITHSCORES')
  end
  out[#out + 1] = {redis.call('ZCARD', key), oldest,
                   redis.call('ZCARD', P .. 'idle:' .. ARGV[i])}
end
return out
""",
    # ARGV[4]: offered at or before -> {call, seat, offer seq, offered at} each
    "stale": """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', P .. 'offers', '-inf', ARGV[4], 'BYSCORE')) do
  local c = get_call(id)
  if c then out[#out + 1] = {id, c.seat, c.oseq, c.since} end
end
return out
""",
    "snapshot": """
local seats, skills, waits, idle = {}, {}, {}, {}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'seats')) do
  seats[#seats + 1] = {id, redis.call('HGETALL', seat_key(id))}
  for _, p in ipairs(get_seat(id).skills) do skills[p[1]] = true end
end
for q in string.gmatch(redis.call('HGET', PKEY, '@queues'), '[^,]+') do
  waits[#waits + 1] = {q, redis.call('ZRANGE', P .. 'wait:' .. q, 0, -1, 'WITHSCORES')}
  skills[q] = true
end
for k in pairs(skills) do
  idle[#idle + 1] = {k, redis.call('ZRANGE', P .. 'idle:' .. k, 0, -1, 'WITHSCORES')}
end
return {redis.call('GET', P .. 'seq') or '0', redis.call('HGETALL', P .. 'calls'), seats,
        waits, idle, redis.call('ZRANGE', P .. 'offers', 0, -1, 'WITHSCORES')}
""",
}

# No policy check: rebuild is what installs the policy. ARGV[4]: lowest sequence number to
# continue from; then counted groups: policy fields (2 each), calls (8), seats (8).
REBUILD = """
for q in string.gmatch(redis.call('HGET', PKEY, '@queues') or '', '[^,]+') do
  redis.call('DEL', P .. 'wait:' .. q)
end
for _, id in ipairs(redis.call('SMEMBERS', P .. 'seats')) do
  local s = get_seat(id)
  for _, p in ipairs(s and s.skills or {}) do redis.call('DEL', P .. 'idle:' .. p[1]) end
  redis.call('DEL', seat_key(id))
end
redis.call('DEL', PKEY, P .. 'calls', P .. 'offers', P .. 'seats')
local i = 5
for _ = 1, tonumber(ARGV[i]) do
  redis.call('HSET', PKEY, ARGV[i + 1], ARGV[i + 2])
  i = i + 2
end
i = i + 1
for _ = 1, tonumber(ARGV[i]) do
  local c = {id = ARGV[i + 1], q = ARGV[i + 2], prio = tonumber(ARGV[i + 3]),
             entered = tonumber(ARGV[i + 4]), state = ARGV[i + 5], seat = ARGV[i + 6],
             since = tonumber(ARGV[i + 7]), oseq = tonumber(ARGV[i + 8])}
  if c.state == 'waiting' then wait_call(c) else put_call(c) end
  if c.state == 'offered' then redis.call('ZADD', P .. 'offers', fmt(c.since), c.id) end
  i = i + 8
end
i = i + 1
for _ = 1, tonumber(ARGV[i]) do
  local id = ARGV[i + 1]
  redis.call('HSET', seat_key(id), 'state', ARGV[i + 2], 'skills', ARGV[i + 3],
             'since', ARGV[i + 4], 'idle', ARGV[i + 5], 'call', ARGV[i + 6], 'due', ARGV[i + 7],
             'serves', ARGV[i + 8])
  redis.call('SADD', P .. 'seats', id)
  if ARGV[i + 2] == 'available' then pools(get_seat(id), true) end
  i = i + 8
end
if tonumber(redis.call('GET', P .. 'seq') or '0') < tonumber(ARGV[4]) then
  redis.call('SET', P .. 'seq', ARGV[4])
end
return bump()
"""


def _script(*parts: str) -> str:
    text = "".join(parts)
    for name, value in (("SHIFT", SCORE_SHIFT), ("LEVELS", LEVEL_SLOTS), ("TOP", MAX_PRIORITY)):
        text = text.replace(f"@{name}@", str(value))
    return text


SCRIPTS = {name: _script(HEAD, CHECK, HELPERS, body) for name, body in BODIES.items()}
SCRIPTS["rebuild"] = _script(HEAD, HELPERS, REBUILD)
