"""What the routing index's operations return, and the errors they raise.

Plain frozen dataclasses over ids and epoch milliseconds; :class:`IndexSnapshot` can check
every invariant of the index (the tests and the reconcile sweep use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from queues.routing import (
    CallRecord,
    CallState,
    Offer,
    SeatRecord,
    SeatState,
    call_score,
    seat_score,
)


class RoutingIndexError(Exception):
    """The index refused an operation."""


class IndexLost(RoutingIndexError):
    """The index is empty (Redis restarted or was flushed): rebuild it from the database."""


class PolicyMismatch(RoutingIndexError):
    """The index was built with another routing policy than this worker's (a deploy is half
    done, or two deployments share a namespace)."""


class UnknownName(RoutingIndexError):
    """No such queue or seat in the index."""


ERRORS = (("NOINDEX", IndexLost), ("POLICY", PolicyMismatch), ("UNKNOWN", UnknownName))
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
class Withdrawal:
    """``seq`` 0: nothing changed; ``was`` is the call's state (``None``: unknown call). Only
    a waiting call is withdrawn: one a seat is ringing for or talking to stays."""

    seq: int
    was: CallState | None


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

