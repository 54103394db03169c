"""The routing decision of the skill queues, as pure functions over plain data.

This module is the specification. :mod:`queues.index` runs the same rule in one Lua script
against Redis; the tests give both the same random states and require the same decision.

The rule
--------
* A queue orders its waiting calls by priority (higher first), then entry time (earlier
  first), then call id (byte order). That is exactly the order of the queue's sorted set,
  whose score is :func:`call_score`.
* A call's *tier* is the last widening step its wait has reached
  (:meth:`SkillPolicy.tier_at`); the tier lists the seat pools that may take it.
* An available seat can take a call if it qualifies for a pool of the call's tier. Among
  those seats the best is the one with the smallest ``(group, -level, idle_since, seat id)``:
  own skill before related skill, then the better level, then the longest idle, then the
  seat id in byte order. Seat ties are therefore broken by id, never by chance.
* In each queue the candidate is the first call, in queue order, that some seat can take.
  Look-ahead bound: only calls in the queue's first ``lookahead_classes`` distinct priorities
  are looked at. Within one priority the oldest call has the widest tier, so a younger one of
  the same priority can never be served when the oldest cannot; hence looking at the oldest
  call of each of at most ``lookahead_classes`` priorities finds the right candidate, and a
  deployment that uses fewer priorities than the bound is never affected by it.
* The decision is the best candidate of all queues considered, by the queue order above
  (priority, entry time, call id), paired with its best seat.

All times are integer milliseconds since the Unix epoch, passed in by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from queues.skills import (
    MAX_PRIORITY,
    MIN_PRIORITY,
    RoutingPolicy,
    Tier,
    check_level,
    check_skill,
)

# Scores pack two integers in one IEEE double: ``high * 2**42 + time_ms``. time_ms is below
# 2**42 (until the year 2109) and high is below 1024, so every score is an integer below
# 2**52 < 2**53 and a double holds it exactly: Redis orders by it and Lua takes it apart
# with floor and modulo without any rounding.
SCORE_SHIFT = 1 << 42
MAX_TIME_MS = SCORE_SHIFT - 1
LEVEL_SLOTS = 10

_ID_RE = re.compile(r"^[^\s|,]{1,64}$")


def check_id(value: str, what: str) -> str:
    """Return ``value`` if it can be a call or seat id (no blanks, ``|`` or ``,``; <= 64)."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ValueError(f"{what} must be 1-64 characters without blanks, | or ,: {value!r}")
    return value


def check_time(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME_MS:
        raise ValueError(f"{what} must be epoch milliseconds below 2**42, got {value!r}")
    return value


def call_score(priority: int, entered_ms: int) -> int:
    """Sorted-set score of a waiting call: the lowest score is the next call to serve."""
    return (MAX_PRIORITY - priority) * SCORE_SHIFT + entered_ms


def seat_score(level: int, idle_since_ms: int) -> int:
    """Sorted-set score of an available seat in a skill pool: best level, then longest idle."""
    return (LEVEL_SLOTS - level) * SCORE_SHIFT + idle_since_ms


def split_call_score(score: float) -> tuple[int, int]:
    """``(priority, entered_ms)`` of a call score."""
    high, entered = divmod(int(score), SCORE_SHIFT)
    return MAX_PRIORITY - high, entered


class SeatState(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    RESERVED = "reserved"  # a call is being offered (ringing)
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    BREAK = "break"
    MISSED = "missed"  # did not answer an offer; back only when set available again


class CallState(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTED = "connected"


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A caller on hold in the queue of ``skill``."""

    call_id: str
    skill: str
    priority: int
    entered_ms: int

    def __post_init__(self) -> None:
        check_id(self.call_id, "call id")
        check_skill(self.skill)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ValueError(f"priority must be a whole number, got {self.priority!r}")
        if not MIN_PRIORITY <= self.priority <= MAX_PRIORITY:
            raise ValueError(f"priority must be {MIN_PRIORITY}..{MAX_PRIORITY}")
        check_time(self.entered_ms, "entered_ms")

    @property
    def order(self) -> tuple[int, int, bytes]:
        """Queue order key; a smaller key is served first."""
        return (-self.priority, self.entered_ms, self.call_id.encode())


@dataclass(frozen=True, slots=True)
class AvailableSeat:
    """A seat that may be offered a call, with its skill levels."""

    seat_id: str
    skills: Mapping[str, int]
    idle_since_ms: int

    def __post_init__(self) -> None:
        check_seat_fields(self.seat_id, self.skills, self.idle_since_ms)


def check_seat_fields(seat_id: str, skills: Mapping[str, int], idle_ms: int) -> None:
    check_id(seat_id, "seat id")
    for skill, level in skills.items():
        check_level(level, f"seat {seat_id}: {check_skill(skill)}")
    check_time(idle_ms, "idle_since_ms")


@dataclass(frozen=True, slots=True)
class Offer:
    """A call offered to a seat: the outcome of one decision.

    ``seat_skill``/``seat_level`` say why the seat qualified; ``tier`` is the widening tier
    the call had reached. ``seq`` is the index's sequence number of the offer (0 when the pure
    rule made it): pass it back with the answer/no-answer so a late callback for an earlier
    offer of the same call to the same seat is recognised and ignored.
    """

    call_id: str
    seat_id: str
    queue: str
    seat_skill: str
    seat_level: int
    priority: int
    entered_ms: int
    tier: int
    seq: int = 0

    def waited_ms(self, now_ms: int) -> int:
        return max(0, now_ms - self.entered_ms)


def best_seat(seats: Iterable[AvailableSeat], tier: Tier) -> tuple[AvailableSeat, str, int] | None:
    """The best seat for a call at ``tier``, with the skill and level it qualifies by."""
    best: tuple[tuple[int, int, int, bytes], AvailableSeat, str, int] | None = None
    for seat in seats:
        qualifying: tuple[int, int, str] | None = None
        for pool in tier.pools:  # pool order decides between equally good skills of a seat
            level = seat.skills.get(pool.skill, 0)
            if level >= pool.min_level and (
                qualifying is None or (pool.group, -level) < qualifying[:2]
            ):
                qualifying = (pool.group, -level, pool.skill)
        if qualifying is None:
            continue
        key = (qualifying[0], qualifying[1], seat.idle_since_ms, seat.seat_id.encode())
        if best is None or key < best[0]:
            best = (key, seat, qualifying[2], -qualifying[1])
    return None if best is None else best[1:]


def decide(
    calls: Iterable[WaitingCall],
    seats: Iterable[AvailableSeat],
    policy: RoutingPolicy,
    now_ms: int,
    queues: Iterable[str] | None = None,
) -> Offer | None:
    """The one offer the rule makes in this state, or ``None`` if no seat can take any call.

    ``queues`` limits the decision to some queues (a seat that became available only looks at
    ``policy.served_by(its skills)``); by default all queues of the policy are considered.
    Calls of queues the policy does not know are ignored.
    """
    scope = set(policy.queue_names if queues is None else queues)
    seat_list = list(seats)
    by_queue: dict[str, list[WaitingCall]] = {}
    for call in calls:
        if call.skill in scope and call.skill in policy:
            by_queue.setdefault(call.skill, []).append(call)
    best: Offer | None = None
    best_key: tuple[int, int, bytes] | None = None
    for queue, waiting in by_queue.items():
        queue_policy = policy[queue]
        waiting.sort(key=lambda call: call.order)
        classes = sorted({call.priority for call in waiting}, reverse=True)
        lowest_class = classes[: policy.lookahead_classes][-1]
        for call in waiting:
            if call.priority < lowest_class:
                break  # beyond the look-ahead bound
            tier = queue_policy.tier_at(now_ms - call.entered_ms)
            found = best_seat(seat_list, queue_policy.tiers[tier])
            if found is None:
                continue
            if best_key is None or call.order < best_key:
                seat, skill, level = found
                best_key = call.order
                best = Offer(
                    call_id=call.call_id, seat_id=seat.seat_id, queue=queue, seat_skill=skill,
                    seat_level=level, priority=call.priority, entered_ms=call.entered_ms,
                    tier=tier,
                )
            break
    return best


def decide_all(
    calls: Iterable[WaitingCall],
    seats: Iterable[AvailableSeat],
    policy: RoutingPolicy,
    now_ms: int,
    queues: Iterable[str] | None = None,
    max_offers: int = 1_000_000,
) -> list[Offer]:
    """Apply :func:`decide` repeatedly, each offer taking its call and seat out of the state."""
    waiting = {call.call_id: call for call in calls}
    available = {seat.seat_id: seat for seat in seats}
    scope = None if queues is None else tuple(queues)
    offers: list[Offer] = []
    while len(offers) < max_offers:
        offer = decide(waiting.values(), available.values(), policy, now_ms, scope)
        if offer is None:
            break
        offers.append(offer)
        del waiting[offer.call_id], available[offer.seat_id]
    return offers


@dataclass(frozen=True, slots=True)
class CallRecord:
    """Authoritative state of a call the index must hold, as read from the database.

    ``seat_id`` and ``since_ms`` describe the offer (state offered) or the conversation
    (connected). ``offer_seq`` is the offer's sequence number if known, else 0.
    """

    call_id: str
    skill: str
    priority: int
    entered_ms: int
    state: CallState = CallState.WAITING
    seat_id: str = ""
    since_ms: int = 0
    offer_seq: int = 0

    def __post_init__(self) -> None:
        WaitingCall(self.call_id, self.skill, self.priority, self.entered_ms)
        object.__setattr__(self, "state", CallState(self.state))
        if self.state is not CallState.WAITING:
            check_id(self.seat_id, f"call {self.call_id}: seat id")
        check_time(self.since_ms, "since_ms")


@dataclass(frozen=True, slots=True)
class SeatRecord:
    """Authoritative state of a seat, as read from the database.

    ``call_id`` is the call offered (reserved) or in conversation (on_call);
    ``wrap_up_due_ms`` when a wrap-up ends.
    """

    seat_id: str
    skills: Mapping[str, int]
    state: SeatState = SeatState.OFFLINE
    since_ms: int = 0
    idle_since_ms: int = 0
    call_id: str = ""
    wrap_up_due_ms: int = 0
    _frozen_skills: tuple[tuple[str, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_seat_fields(self.seat_id, self.skills, self.idle_since_ms)
        object.__setattr__(self, "state", SeatState(self.state))
        object.__setattr__(self, "_frozen_skills", tuple(sorted(self.skills.items())))
        if self.state in (SeatState.RESERVED, SeatState.ON_CALL):
            check_id(self.call_id, f"seat {self.seat_id}: call id")
        check_time(self.since_ms, "since_ms")
        check_time(self.wrap_up_due_ms, "wrap_up_due_ms")

    @property
    def skills_text(self) -> str:
        """Skills as stored in Redis: ``complaint:3,repair:1``."""
        return ",".join(f"{skill}:{level}" for skill, level in self._frozen_skills)


def reconcile(
    calls: Iterable[CallRecord], seats: Iterable[SeatRecord], policy: RoutingPolicy
) -> tuple[list[CallRecord], list[SeatRecord], list[str]]:
    """Make database records consistent before they replace the index.

    Records written by several workers may disagree about an offer in flight. The repair
    never drops a caller: an offered call whose seat is not reserved for it goes back to
    waiting, and a reserved seat whose call is not offered to it becomes available again
    (keeping its idle time). A connected call and its on_call seat that disagree are kept
    as they are and reported. Duplicate ids and calls of unknown queues are errors.
    Returns the repaired calls, seats and a description of every repair.
    """
    call_list, seat_list = list(calls), list(seats)
    seat_by_id = {seat.seat_id: seat for seat in seat_list}
    if len(seat_by_id) != len(seat_list):
        raise ValueError("duplicate seat ids in the seat records")
    if len({call.call_id for call in call_list}) != len(call_list):
        raise ValueError("duplicate call ids in the call records")
    issues: list[str] = []
    fixed_calls: list[CallRecord] = []
    offered_to: dict[str, str] = {}
    for call in call_list:
        if call.skill not in policy:
            raise ValueError(f"call {call.call_id} waits in {call.skill!r}, not in the policy")
        seat = seat_by_id.get(call.seat_id)
        if call.state is CallState.OFFERED:
            if seat and seat.state is SeatState.RESERVED and seat.call_id == call.call_id:
                offered_to[seat.seat_id] = call.call_id
            else:
                issues.append(f"call {call.call_id}: offer to {call.seat_id} not held; waiting")
                call = replace(call, state=CallState.WAITING, seat_id="", since_ms=0, offer_seq=0)
        elif call.state is CallState.CONNECTED and not (
            seat and seat.state is SeatState.ON_CALL and seat.call_id == call.call_id
        ):
            issues.append(f"call {call.call_id}: seat {call.seat_id} is not on this call")
        fixed_calls.append(call)
    connected = {c.call_id for c in fixed_calls if c.state is CallState.CONNECTED}
    fixed_seats: list[SeatRecord] = []
    for seat in seat_list:
        if seat.state is SeatState.RESERVED and offered_to.get(seat.seat_id) != seat.call_id:
            issues.append(f"seat {seat.seat_id}: reserved for {seat.call_id} unheld; available")
            seat = replace(seat, state=SeatState.AVAILABLE, call_id="")
        elif seat.state is SeatState.ON_CALL and seat.call_id not in connected:
            issues.append(f"seat {seat.seat_id}: on_call with unknown call {seat.call_id}")
        fixed_seats.append(seat)
    return fixed_calls, fixed_seats, issues
