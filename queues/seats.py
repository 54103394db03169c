"""Seats: creating and changing them, and their state, for the HTTP API and the CLI.

A change is written to the database first (the truth) and then to the Redis index; a seat
that becomes available is given calls by the ``seat_available`` job, so no request waits
on Twilio. Every error is a :class:`SeatError` with the HTTP status it maps to.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.numbers import is_ascii_number
from callcenter.services import Services
from queues import entry, jobs, recovery
from queues.index import MANUAL_STATES, IndexLost, RoutingIndexError, SeatChange, UnknownName
from queues.models import Seat
from queues.router import Router
from queues.routing import SeatState
from queues.skills import check_level, check_skill
from staff.models import Staff

T = TypeVar("T")

log = logging.getLogger(__name__)

# Seat ids appear in URLs, Redis keys and recording records: keep them plain.
SEAT_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,32}$")
CLIENT_IDENTITY = re.compile(r"^[A-Za-z0-9_.@-]{1,121}$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SIP_ADDRESS = re.compile(r"^sip:[^\s<>\"',|]{3,120}$", re.IGNORECASE)
MAX_WRAP_UP_SECONDS = 3600


class SeatError(ValueError):
    """A seat request that cannot be done; ``status`` is the HTTP status it answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True, slots=True)
class Reach:
    """How a seat is rung: ``kind`` is a ``<Dial>`` noun (client, number, sip)."""

    kind: str
    address: str

    def __str__(self) -> str:
        return self.address if self.kind == "sip" else f"{self.kind}:{self.address}"


def parse_reach(text: object) -> Reach:
    """``client:<identity>`` (browser softphone), ``+8610...`` or ``number:+8610...``, or
    ``sip:<user@host>``."""
    if not isinstance(text, str):
        raise SeatError(400, "reach must be text")
    value = text.strip()
    if value.startswith("client:") and CLIENT_IDENTITY.match(value[7:]):
        return Reach("client", value[7:])
    number = value[7:] if value.startswith("number:") else value
    if E164.match(number):
        return Reach("number", number)
    if SIP_ADDRESS.match(value):
        return Reach("sip", value)
    raise SeatError(400, "reach must be client:<identity>, a phone number such as "
                         f"+8610... (or number:+8610...), or sip:<user@host>; got {value!r}")


def parse_skills(value: object) -> dict[str, int]:
    """Skills with levels: ``{"complaint": 3}`` or the text ``complaint:3,repair:1``."""
    if isinstance(value, str):
        pairs: list[tuple[Any, Any]] = []
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, level = item.partition(":")
            if not sep or not is_ascii_number(level.strip()):
                raise SeatError(400, f"a skill is written name:level, got {item!r}")
            pairs.append((name.strip(), int(level)))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise SeatError(400, "skills must be an object such as {\"complaint\": 3}")
    skills: dict[str, int] = {}
    try:
        for name, level in pairs:
            skills[check_skill(name)] = check_level(level, f"level of {name}")
    except ValueError as error:
        raise SeatError(400, str(error)) from None
    if len(skills) > 32:
        raise SeatError(400, "a seat has at most 32 skills")
    return skills


def check_seat_id(value: object) -> str:
    if not isinstance(value, str) or not SEAT_ID.match(value):
        raise SeatError(400, "a seat id is 1-32 letters, digits, _ . @ or -")
    return value


def check_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 64:
        raise SeatError(400, "name must be 1-64 characters")
    return value.strip()


def check_wrap_up(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not (
            0 <= value <= MAX_WRAP_UP_SECONDS):
        raise SeatError(400, f"wrap_up_seconds must be 0-{MAX_WRAP_UP_SECONDS} or null "
                             "(null: the queue's own wrap-up)")
    return value


def check_manual_state(value: object) -> SeatState:
    try:
        state = SeatState(value)  # type: ignore[arg-type]
    except ValueError:
        state = None
    if state not in MANUAL_STATES:
        raise SeatError(400, f"state must be one of {sorted(MANUAL_STATES)}")
    return state  # type: ignore[return-value]


def seat_json(seat: Seat, now: datetime) -> dict[str, Any]:
    return {
        "id": seat.id, "name": seat.name, "reach": seat.reach, "skills": dict(seat.skills),
        "staff_id": seat.staff_id, "state": seat.state,
        "state_since": seat.state_since.isoformat(),
        "seconds_in_state": max(0, int((now - seat.state_since).total_seconds())),
        "current_call_sid": seat.current_call_sid, "wrap_up_seconds": seat.wrap_up_seconds,
    }


def _indexed(router: Router, action: Callable[[], T]) -> T:
    """Run an index action; a lost index is rebuilt from the database first."""
    try:
        return action()
    except IndexLost:
        recovery.ensure_index(router)
        return action()


def _index_seat(router: Router, seat: Seat) -> SeatChange | None:
    """Put the seat's skills in the index. The database has them already, so an index out
    of reach is no failure: the reconcile sweep puts the seat in when Redis is back."""
    _, now_ms = router.now()
    try:
        return _indexed(router, lambda: router.index.upsert_seat(seat.id, seat.skills, now_ms,
                                                                 max_offers=0))
    except (RedisError, RoutingIndexError) as error:
        log.warning("seat %s saved; the routing index will take it later: %s", seat.id, error)
        return None


def get_seat(session: Session, seat_id: str) -> Seat:
    seat = session.get(Seat, seat_id) if SEAT_ID.match(seat_id) else None
    if seat is None:
        raise SeatError(404, f"no seat {seat_id!r}")
    return seat


def list_seats(session: Session) -> list[Seat]:
    return list(session.scalars(select(Seat).order_by(Seat.id)))


def create_seat(router: Router, *, seat_id: str, name: str, reach: str,
                skills: Mapping[str, int], staff_id: str | None = None,
                wrap_up_seconds: int | None = None) -> Seat:
    """A new seat, offline until it logs in."""
    moment, _ = router.now()
    try:
        with router.database.session() as session:
            if staff_id is not None and session.get(Staff, staff_id) is None:
                raise SeatError(400, f"no staff member {staff_id!r}")
            seat = Seat(id=check_seat_id(seat_id), name=check_name(name),
                        reach=str(parse_reach(reach)), skills=parse_skills(skills),
                        staff_id=staff_id,
                        state=SeatState.OFFLINE, state_since=moment, idle_since=moment,
                        wrap_up_seconds=check_wrap_up(wrap_up_seconds))
            session.add(seat)
            session.flush()
    except IntegrityError:
        also = f", or {staff_id!r} works another seat" if staff_id else ""
        raise SeatError(409, f"seat {seat_id!r} exists already{also}") from None
    _index_seat(router, seat)
    return seat


def update_seat(router: Router, svc: Services, seat_id: str, changes: Mapping[str, Any]) -> Seat:
    """Change a seat's name, reach, skills or wrap-up; new skills take effect at once."""
    allowed = {"name", "reach", "skills", "wrap_up_seconds"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise SeatError(400, f"unknown fields {unknown}; a seat has {sorted(allowed)}")
    with router.database.session() as session:
        seat = get_seat(session, seat_id)
        if "name" in changes:
            seat.name = check_name(changes["name"])
        if "reach" in changes:
            seat.reach = str(parse_reach(changes["reach"]))
        if "skills" in changes:
            seat.skills = parse_skills(changes["skills"])
        if "wrap_up_seconds" in changes:
            seat.wrap_up_seconds = check_wrap_up(changes["wrap_up_seconds"])
    change = _index_seat(router, seat)
    if change is not None and change.seq and change.previous is SeatState.AVAILABLE:
        _seat_available(svc, seat.id)
    return seat


def set_state(router: Router, svc: Services, seat_id: str, state: SeatState) -> SeatState:
    """Set a seat available, on break or offline. Refused (409) while a call is ringing it
    or it is talking: those states end with the call. Returns the state it was in."""
    with router.database.session() as session:
        seat = get_seat(session, seat_id)
        skills = dict(seat.skills)

    def change() -> Any:
        try:
            return router.set_seat_state(seat_id, state)
        except UnknownName:  # created while Redis was away
            _, now_ms = router.now()
            router.index.upsert_seat(seat_id, skills, now_ms, max_offers=0)
            return router.set_seat_state(seat_id, state)

    result = _indexed(router, change)
    if not result.seq and result.previous is not state:
        raise SeatError(409, f"seat {seat_id} is {result.previous}: its state changes when "
                             "the call ends")
    if result.seq and state is SeatState.AVAILABLE:
        _seat_available(svc, seat_id)
    return SeatState(result.previous)


def _seat_available(svc: Services, seat_id: str) -> None:
    entry.enqueue_quietly(svc, jobs.enqueue_seat_available, seat_id)
