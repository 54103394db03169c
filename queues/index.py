"""The Redis index of hold queues and seats, changed only by Lua scripts.

Every operation is one ``EVALSHA`` of one script, so a state change and the routing decision
that follows it are atomic: Redis runs one script at a time, hence however many workers on
however many machines decide at once, a seat is never offered two calls and a call never
offered to two seats. Redis is an index, not the record: :meth:`RedisIndex.rebuild` replaces
its content from the database's records.

Key layout (``P`` is ``{<namespace>}:``; the hash tag keeps every key in one cluster slot)::

    P policy            HASH  RoutingPolicy.redis_fields(), with @fingerprint
    P wait:<queue>      ZSET  waiting call id -> call_score(priority, entered); head = next
    P idle:<skill>      ZSET  available seat id -> seat_score(level, idle since); head = best
    P calls             HASH  call id -> "queue|priority|entered|state|seat|since|offer_seq"
    P offers            ZSET  offered call id -> offered at, to find unanswered offers
    P seat:<id>         HASH  state, skills ("complaint:3,repair:1"), idle, since, call, due,
                              serves (queues it may take calls of: RoutingPolicy.served_by)
    P seats             SET   every seat id
    P seq               STR   sequence number, raised by every change and by every offer
    P recent:wait:<q>   LIST  latest waits (ms) of answered calls, newest first, capped
    P recent:handle:<q> LIST  latest handling times (ms), newest first, capped

A decision reads only sorted-set heads: per queue the head of ``wait:<q>``, at most
``lookahead_classes - 1`` jumps to the head of the next priority, and the heads of the seat
pools the queue may use; each read is O(log n). Calls are many and short-lived, so they are
packed into one hash; seats are few, so each has a readable hash of its own.

Redis must run with ``maxmemory-policy noeviction``: an evicted key would corrupt the index.
If the policy hash is gone (Redis restarted empty, FLUSHDB) every script refuses with
:class:`IndexLost` until :meth:`RedisIndex.rebuild` is given the database's records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

from queues.routing import (
    LEVEL_SLOTS,
    SCORE_SHIFT,
    CallRecord,
    CallState,
    Offer,
    SeatRecord,
    SeatState,
    WaitingCall,
    call_score,
    reconcile,
    seat_score,
)
from queues.skills import MAX_PRIORITY, RoutingPolicy, check_skill


class RoutingIndexError(Exception):
    """The index refused an operation."""


class IndexLost(RoutingIndexError):
    """The index is empty (Redis restarted or was flushed): rebuild it from the database."""


class PolicyMismatch(RoutingIndexError):
    """The index was built with another routing policy than this worker's (a deploy is half
    done, or two deployments share a namespace)."""


class UnknownName(RoutingIndexError):
    """No such queue or seat in the index."""


_ERRORS = (("NOINDEX", IndexLost), ("POLICY", PolicyMismatch), ("UNKNOWN", UnknownName))
MANUAL_STATES = frozenset({SeatState.AVAILABLE, SeatState.BREAK, SeatState.OFFLINE})


@dataclass(frozen=True, slots=True)
class Change:
    """What an operation did. ``seq`` is 0 when nothing changed (e.g. a stale callback).

    Every offer, whatever operation made it, must be carried out by the caller: record it
    in the database, ring the seat, and report :meth:`RedisIndex.answer` or
    :meth:`RedisIndex.no_answer` with ``offer.seq``.
    """

    seq: int
    offers: tuple[Offer, ...] = ()


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    """``seq`` 0: the call was known already (a retried job); nothing changed.

    ``position`` is the 0-based place in the queue (``None`` once offered);
    ``widens_at_ms`` are the times its widening steps begin: run :meth:`RedisIndex.dispatch`
    for its queue then, since waiting alone changes nothing in Redis.
    """

    seq: int
    position: int | None
    offers: tuple[Offer, ...]
    widens_at_ms: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SeatChange:
    """``previous`` is the seat's state before the operation (the state it keeps if seq=0)."""

    seq: int
    previous: SeatState
    offers: tuple[Offer, ...]


@dataclass(frozen=True, slots=True)
class HangupResult:
    """``was`` is the state the call was in (``None``: unknown call). A talking seat goes to
    wrap-up: schedule :meth:`RedisIndex.release_wrap_up` at ``wrap_up_due_ms`` (0 if none).
    A seat that was ringing for the call is available again and may have been offered
    another call at once (``offers``)."""

    seq: int
    was: CallState | None
    seat_id: str
    wrap_up_due_ms: int
    offers: tuple[Offer, ...]


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Cheap live figures of one queue; ``available_seats`` counts seats of its skill."""

    queue: str
    waiting: int
    oldest_entered_ms: int | None
    available_seats: int

    def longest_wait_ms(self, now_ms: int) -> int:
        return 0 if self.oldest_entered_ms is None else max(0, now_ms - self.oldest_entered_ms)


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """``seq`` of the rebuilt index; ``repairs`` made to inconsistent records (for the log)."""

    seq: int
    repairs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StaleOffer:
    """An offer still ringing after the ring timeout: its no-answer callback was lost."""

    call_id: str
    seat_id: str
    offer_seq: int
    offered_ms: int


@dataclass(frozen=True, slots=True)
class IndexSnapshot:
    """The whole index, read atomically; :meth:`problems` checks its invariants."""

    seq: int
    calls: dict[str, CallRecord]
    seats: dict[str, SeatRecord]
    queues: dict[str, list[tuple[str, int]]]  # queue -> [(call id, score)] in queue order
    pools: dict[str, list[tuple[str, int]]]  # skill -> [(seat id, score)], best first
    offers: dict[str, int] = field(default_factory=dict)  # offered call -> offered at

    def waiting(self, queue: str) -> list[str]:
        return [call_id for call_id, _ in self.queues.get(queue, [])]

    def problems(self) -> list[str]:
        """Every broken invariant, described; empty when the index is consistent."""
        out: list[str] = []
        queued = {cid: (q, score) for q, members in self.queues.items() for cid, score in members}
        if len(queued) != sum(len(members) for members in self.queues.values()):
            out.append("a call is in two queues")
        for cid, call in self.calls.items():
            seat = self.seats.get(call.seat_id)
            if call.state is CallState.WAITING:
                if queued.get(cid) != (call.skill, call_score(call.priority, call.entered_ms)):
                    out.append(f"waiting call {cid} not in its queue with its score")
            elif call.state is CallState.OFFERED:
                if not seat or seat.state is not SeatState.RESERVED or seat.call_id != cid:
                    out.append(f"offered call {cid}: seat {call.seat_id} not reserved for it")
            elif not seat or seat.state is not SeatState.ON_CALL or seat.call_id != cid:
                out.append(f"connected call {cid}: seat {call.seat_id} not on it")
            if (call.state is CallState.OFFERED) != (cid in self.offers):
                out.append(f"call {cid}: offers set disagrees with state {call.state}")
        for cid in queued:
            if cid not in self.calls or self.calls[cid].state is not CallState.WAITING:
                out.append(f"queued call {cid} is not a waiting call")
        pooled = {skill: dict(members) for skill, members in self.pools.items()}
        for sid, seat in self.seats.items():
            held = self.calls.get(seat.call_id)
            if seat.state in (SeatState.RESERVED, SeatState.ON_CALL) and (
                not held or held.seat_id != sid
            ):
                out.append(f"seat {sid} is {seat.state} for {seat.call_id}, which is not its")
            for skill, level in seat.skills.items():
                entry = pooled.get(skill, {}).get(sid)
                want = seat_score(level, seat.idle_since_ms)
                if seat.state is SeatState.AVAILABLE and entry != want:
                    out.append(f"available seat {sid} not in pool {skill} with its score")
                if seat.state is not SeatState.AVAILABLE and entry is not None:
                    out.append(f"{seat.state} seat {sid} is in pool {skill}")
        for skill, members in self.pools.items():
            for sid, _ in members:
                if sid not in self.seats or skill not in self.seats[sid].skills:
                    out.append(f"pool {skill} holds {sid}, which has no such skill")
        return out


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _skills(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (item.split(":") for item in text.split(",") if item)}


class RedisIndex:
    """The hold queues and seats of one deployment in Redis.

    ``client`` is any ``redis.Redis`` (``decode_responses`` either way); nothing is sent
    until an operation runs. All times are epoch milliseconds passed in by the caller, from
    clocks kept in step (NTP): entry and idle times from several machines are compared.
    ``max_offers`` of the event operations is 1 because one new call or one freed seat can
    make at most one new match; :meth:`dispatch` is the sweep that may make many.
    """

    def __init__(self, client: redis.Redis, policy: RoutingPolicy, *, namespace: str = "callq"):
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,40}", namespace):
            raise ValueError(f"bad namespace {namespace!r}")
        self.policy = policy
        self.prefix = f"{{{namespace}}}:"
        self._redis = client
        self._fields = policy.redis_fields()
        self._fp = self._fields["@fingerprint"]
        self._scripts = {name: client.register_script(src) for name, src in _SCRIPTS.items()}

    def load_scripts(self) -> None:
        """Register the scripts now, so the first operation is one round trip too."""
        for script in self._scripts.values():
            script.sha = _s(self._redis.script_load(script.script))

    def _run(self, name: str, now_ms: int, *args: str | int) -> Any:
        if isinstance(now_ms, bool) or not isinstance(now_ms, int):
            raise TypeError(f"now_ms must be integer epoch milliseconds, got {now_ms!r}")
        try:
            return self._scripts[name](
                keys=[self.prefix + "policy"], args=[self.prefix, self._fp, now_ms, *args]
            )
        except redis.ResponseError as exc:
            for tag, error in _ERRORS:
                if str(exc).startswith(tag):
                    raise error(str(exc)) from None
            raise

    @staticmethod
    def _offers(raw: Iterable[Any]) -> tuple[Offer, ...]:
        return tuple(
            Offer(_s(o[0]), _s(o[1]), _s(o[2]), _s(o[3]), *(int(v) for v in o[4:9]))
            for o in raw
        )

    def rebuild(
        self, calls: Iterable[CallRecord], seats: Iterable[SeatRecord], now_ms: int
    ) -> RebuildReport:
        """Replace the whole index (and install this worker's policy) in one atomic step.

        ``calls`` are all calls waiting, offered or connected and ``seats`` all seats, read
        from the database by the caller. Inconsistent offers are repaired without dropping
        a caller (see :func:`queues.routing.reconcile`). The recent-time lists survive.
        No decision is made: call :meth:`dispatch` afterwards.
        """
        call_list, seat_list, issues = reconcile(calls, seats, self.policy)
        args: list[str | int] = [max((c.offer_seq for c in call_list), default=0)]
        args += [len(self._fields), *(x for item in self._fields.items() for x in item)]
        args.append(len(call_list))
        for c in call_list:
            args += [c.call_id, c.skill, c.priority, c.entered_ms, c.state.value, c.seat_id]
            args += [c.since_ms, c.offer_seq]
        args.append(len(seat_list))
        for s in seat_list:
            args += [s.seat_id, s.state.value, s.skills_text, s.since_ms, s.idle_since_ms]
            args += [s.call_id, s.wrap_up_due_ms, ",".join(self.policy.served_by(s.skills))]
        return RebuildReport(int(self._run("rebuild", now_ms, *args)), tuple(issues))

    def enqueue(self, call: WaitingCall, now_ms: int, *, max_offers: int = 1) -> EnqueueResult:
        """Put a caller on hold and decide at once; idempotent for a known call id."""
        if call.skill not in self.policy:
            raise UnknownName(f"no queue {call.skill!r} in the routing policy")
        seq, rank, offers = self._run(
            "enqueue", now_ms, call.call_id, call.skill, call.priority, call.entered_ms,
            max_offers,
        )
        widens = tuple(
            call.entered_ms + tier.after_ms
            for tier in self.policy[call.skill].tiers[1:]
            if call.entered_ms + tier.after_ms > now_ms
        )
        position = None if int(rank) < 0 else int(rank)
        return EnqueueResult(int(seq), position, self._offers(offers), widens)

    def upsert_seat(
        self, seat_id: str, skills: Mapping[str, int], now_ms: int, *, max_offers: int = 1
    ) -> SeatChange:
        """Create a seat (offline) or change its skills; an available seat is re-pooled."""
        text = SeatRecord(seat_id, skills).skills_text
        serves = ",".join(self.policy.served_by(skills))
        seq, state, offers = self._run("upsert_seat", now_ms, seat_id, text, serves, max_offers)
        return SeatChange(int(seq), SeatState(_s(state)), self._offers(offers))

    def set_seat_state(
        self, seat_id: str, state: SeatState, now_ms: int, *, max_offers: int = 1
    ) -> SeatChange:
        """Agent or supervisor action: available, break or offline.

        Refused (``seq`` 0) while the seat is reserved or on a call: those states end only
        through the call. Becoming available starts a decision over the queues it serves.
        """
        if state not in MANUAL_STATES:
            raise ValueError(f"a seat is set only to {sorted(MANUAL_STATES)}, not {state}")
        seq, prev, offers = self._run("seat_state", now_ms, seat_id, state.value, "", max_offers)
        return SeatChange(int(seq), SeatState(_s(prev)), self._offers(offers))

    def release_wrap_up(
        self, seat_id: str, now_ms: int, *, due_ms: int | None = None, max_offers: int = 1
    ) -> SeatChange:
        """End a wrap-up (the scheduled job). With ``due_ms`` (``HangupResult.wrap_up_due_ms``)
        only that wrap-up ends, so a late job cannot cut short a later one."""
        release = "*" if due_ms is None else str(due_ms)
        seq, prev, offers = self._run(
            "seat_state", now_ms, seat_id, SeatState.AVAILABLE.value, release, max_offers
        )
        return SeatChange(int(seq), SeatState(_s(prev)), self._offers(offers))

    def answer(
        self, call_id: str, seat_id: str, now_ms: int, *, offer_seq: int | None = None
    ) -> int:
        """The seat picked up: seat on_call, call connected, its wait recorded.
        Returns the change's sequence number, 0 if that offer is no longer held."""
        seq = "" if offer_seq is None else offer_seq
        return int(self._run("answer", now_ms, call_id, seat_id, seq))

    def no_answer(
        self,
        call_id: str,
        seat_id: str,
        now_ms: int,
        *,
        offer_seq: int | None = None,
        max_offers: int = 1,
    ) -> Change:
        """The seat did not pick up: seat missed, the call back at the front of its queue
        (original priority and entry time) and offered to another seat if one can take it."""
        seq = "" if offer_seq is None else offer_seq
        n, offers = self._run("no_answer", now_ms, call_id, seat_id, seq, max_offers)
        return Change(int(n), self._offers(offers))

    def hangup(
        self,
        call_id: str,
        now_ms: int,
        *,
        wrap_up_ms: int | None = None,
        max_offers: int = 1,
    ) -> HangupResult:
        """The call ended, whoever hung up: while waiting or ringing (abandoned) or talking.

        A talking seat goes to wrap-up for its queue's ``wrap_up_s``, or ``wrap_up_ms`` if
        given (e.g. the seat's own setting).
        """
        wrap = "" if wrap_up_ms is None else wrap_up_ms
        seq, was, seat, due, offers = self._run("hangup", now_ms, call_id, wrap, max_offers)
        state = CallState(_s(was)) if _s(was) else None
        return HangupResult(int(seq), state, _s(seat), int(due), self._offers(offers))

    def dispatch(
        self, now_ms: int, *, queues: Iterable[str] | None = None, max_offers: int = 100
    ) -> tuple[Offer, ...]:
        """Decide until no seat can take a call (or ``max_offers``): the sweep to run when
        calls widen (``EnqueueResult.widens_at_ms``), every few seconds, and after rebuild."""
        names = [] if queues is None else [check_skill(q) for q in queues]
        if queues is not None and not names:
            return ()
        return self._offers(self._run("dispatch", now_ms, max_offers, *names))

    def position(self, call_id: str) -> int | None:
        """0-based place of a waiting call in its queue (ZRANK), ``None`` if not waiting."""
        rank = int(self._run("position", 0, call_id))
        return None if rank < 0 else rank

    def queue_stats(self, queues: Iterable[str] | None = None) -> dict[str, QueueStats]:
        names = list(self.policy.queue_names if queues is None else queues)
        rows = self._run("stats", 0, *names)
        return {
            q: QueueStats(q, int(n), None if int(old) < 0 else int(old), int(seats))
            for q, (n, old, seats) in zip(names, rows, strict=True)
        }

    def recent_times(self, queue: str) -> tuple[list[int], list[int]]:
        """Latest waits of answered calls and handling times of ``queue`` (ms, newest first),
        at most ``policy.recent_cap`` each, for the caller's ETA announcements."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.lrange(f"{self.prefix}recent:wait:{check_skill(queue)}", 0, -1)
        pipe.lrange(f"{self.prefix}recent:handle:{queue}", 0, -1)
        waits, handles = pipe.execute()
        return [int(v) for v in waits], [int(v) for v in handles]

    def stale_offers(self, now_ms: int, ring_timeout_ms: int) -> list[StaleOffer]:
        """Offers ringing for longer than ``ring_timeout_ms``: a lost no-answer callback.
        Call :meth:`no_answer` for each (with its ``offer_seq``)."""
        rows = self._run("stale", now_ms, now_ms - ring_timeout_ms)
        return [StaleOffer(_s(c), _s(s), int(n), int(t)) for c, s, n, t in rows]

    def snapshot(self) -> IndexSnapshot:
        """The whole index in one atomic read, for checks and tests (O(size): not hot path)."""
        seq, flat_calls, seat_rows, waits, pools, offers = self._run("snapshot", 0)
        calls: dict[str, CallRecord] = {}
        for cid, packed in zip(flat_calls[::2], flat_calls[1::2], strict=True):
            q, prio, entered, state, seat, since, oseq = _s(packed).split("|")
            calls[_s(cid)] = CallRecord(
                _s(cid), q, int(prio), int(entered), CallState(state), seat, int(since),
                int(oseq),
            )
        seats: dict[str, SeatRecord] = {}
        for sid, flat in seat_rows:
            f = {_s(k): _s(v) for k, v in zip(flat[::2], flat[1::2], strict=True)}
            seats[_s(sid)] = SeatRecord(
                _s(sid), _skills(f["skills"]), SeatState(f["state"]), int(f["since"]),
                int(f["idle"]), f["call"], int(f["due"]),
            )

        def members(raw: list[Any]) -> list[tuple[str, int]]:
            return [(_s(m), int(float(sc))) for m, sc in zip(raw[::2], raw[1::2], strict=True)]

        return IndexSnapshot(
            int(seq), calls, seats, {_s(q): members(m) for q, m in waits},
            {_s(k): members(m) for k, m in pools}, dict(members(offers)),
        )


# --- Lua ---------------------------------------------------------------------------------
# Scores reach 2**52, but Lua turns a number into a string with 14 significant digits (as in
# ZADD key 1.2345678901235e+15), which would round it: every score sent back to Redis goes
# through fmt(), which prints all digits. Strings are compared with before(), not "<": in
# Redis' Lua, "<" on strings follows the server's locale (strcoll), while sorted sets order
# members by bytes, and ties must be broken the same way in both places.
_HEAD = """
local P, NOW = ARGV[1], tonumber(ARGV[3])
local SHIFT, LEVELS, TOP = @SHIFT@, @LEVELS@, @TOP@
local PKEY = P .. 'policy'
local LOOKAHEAD, CAP = 1, 1
"""

_CHECK = """
local meta = redis.call('HMGET', PKEY, '@fingerprint', '@lookahead', '@recent_cap')
if not meta[1] then return redis.error_reply('NOINDEX routing index is empty; rebuild it') end
if meta[1] ~= ARGV[2] then return redis.error_reply('POLICY index has policy ' .. meta[1]) end
LOOKAHEAD, CAP = tonumber(meta[2]), tonumber(meta[3])
"""

_HELPERS = """
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

_BODIES = {
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
_REBUILD = """
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


_SCRIPTS = {name: _script(_HEAD, _CHECK, _HELPERS, body) for name, body in _BODIES.items()}
_SCRIPTS["rebuild"] = _script(_HEAD, _HELPERS, _REBUILD)
