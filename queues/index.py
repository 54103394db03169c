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

The Lua lives in :mod:`queues.lua_prelude` (shared functions) and :mod:`queues.lua_scripts`
(one body per operation); the results and errors in :mod:`queues.index_types`.

Redis must run with ``maxmemory-policy noeviction``: an evicted key would corrupt the index.
If the policy hash is gone (Redis restarted empty, FLUSHDB) every script refuses with
:class:`IndexLost` until :meth:`RedisIndex.rebuild` is given the database's records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import redis

from queues.index_types import (
    ERRORS,
    MANUAL_STATES,
    Change,
    EnqueueResult,
    HangupResult,
    IndexLost,
    IndexSnapshot,
    PolicyMismatch,
    QueueStats,
    RebuildReport,
    RoutingIndexError,
    SeatChange,
    StaleOffer,
    UnknownName,
    Withdrawal,
)
from queues.lua_scripts import SCRIPTS
from queues.routing import (
    CallRecord,
    CallState,
    Offer,
    SeatRecord,
    SeatState,
    WaitingCall,
    reconcile,
)
from queues.skills import RoutingPolicy, check_skill

__all__ = [
    "MANUAL_STATES", "Change", "EnqueueResult", "HangupResult", "IndexLost", "IndexSnapshot",
    "PolicyMismatch", "QueueStats", "RebuildReport", "RedisIndex", "RoutingIndexError",
    "SeatChange", "StaleOffer", "UnknownName", "Withdrawal",
]


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
        self._scripts = {name: client.register_script(src) for name, src in SCRIPTS.items()}

    @property
    def client(self) -> redis.Redis:
        """The Redis connection the index uses (for a lock around a rebuild)."""
        return self._redis

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
            for tag, error in ERRORS:
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
        self, calls: Iterable[CallRecord], seats: Iterable[SeatRecord], now_ms: int, *,
        min_seq: int = 0,
    ) -> RebuildReport:
        """Replace the whole index (and install this worker's policy) in one atomic step.

        ``calls`` are all calls waiting, offered or connected and ``seats`` all seats, read
        from the database by the caller. Inconsistent offers are repaired without dropping
        a caller (see :func:`queues.routing.reconcile`). The recent-time lists survive.
        No decision is made: call :meth:`dispatch` afterwards. Sequence numbers continue
        above ``min_seq`` (the highest the database has seen) and above every offer's.
        """
        call_list, seat_list, issues = reconcile(calls, seats, self.policy)
        args: list[str | int] = [max([min_seq, *(c.offer_seq for c in call_list)])]
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

    def retract(self, call_id: str, seat_id: str, now_ms: int, *, offer_seq: int) -> int:
        """Take back an offer that could not be delivered (the call could not be redirected
        for a reason that is neither the seat's nor the caller's): the call waits again at
        the front of its queue, the seat is available with its old idle time. No decision
        is made (it would make the same offer again); the next :meth:`dispatch` decides.
        Returns the change's sequence number, 0 if that offer is no longer held."""
        return int(self._run("retract", now_ms, call_id, seat_id, offer_seq))

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

    def withdraw(self, call_id: str, now_ms: int) -> Withdrawal:
        """Take a call out of its queue if it is still waiting (the caller chose to leave);
        a call already offered or connected stays as it is (see :class:`Withdrawal`)."""
        seq, was = self._run("withdraw", now_ms, call_id)
        return Withdrawal(int(seq), CallState(_s(was)) if _s(was) else None)

    def dispatch(
        self, now_ms: int, *, queues: Iterable[str] | None = None, max_offers: int = 100
    ) -> tuple[Offer, ...]:
        """Decide until no seat can take a call (or ``max_offers``): the sweep to run when
        calls widen (``EnqueueResult.widens_at_ms``), every few seconds, and after rebuild."""
        names = [] if queues is None else [check_skill(q) for q in queues]
        if queues is not None and not names:
            return ()
        return self._offers(self._run("dispatch", now_ms, max_offers, *names))

    def offer_held(self, call_id: str, seat_id: str, offer_seq: int) -> bool:
        """True while offer ``offer_seq`` of the call to the seat is ringing (read only)."""
        return bool(int(self._run("offer_held", 0, call_id, seat_id, offer_seq)))

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

