"""Builders for tests of the routing wired into the app: waiting calls and seats."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from callcenter.services import Services
from queues import holding, seats
from queues.models import QueuedCall, Seat
from queues.router import Router
from queues.routing import SeatState


def sid(n: int) -> str:
    return f"CA{n:032x}"


def waiting_call(router: Router, n: int, *, skill: str = "complaint", priority: int = 200,
                 ago_s: float = 0, index: bool = True) -> str:
    """A caller on hold (the row the webhook writes), indexed as its job would."""
    call_sid = sid(n)
    with router.database.session() as session:
        holding.enter_queue(session, call_sid=call_sid, caller_number=f"+86138{n:08d}",
                            skill=skill, priority=priority,
                            now=router.clock() - timedelta(seconds=ago_s))
    if index:
        router.call_queued(call_sid)
    return call_sid


def add_seat(router: Router, svc: Services, seat_id: str, *, available: bool = True,
             wrap_up: int | None = None, **skills: int) -> str:
    seats.create_seat(router, seat_id=seat_id, name=seat_id, reach=f"client:{seat_id}",
                      skills=skills or {"complaint": 3}, wrap_up_seconds=wrap_up)
    if available:
        seats.set_state(router, svc, seat_id, SeatState.AVAILABLE)
    return seat_id


def row(router: Router, call_sid: str) -> QueuedCall:
    with router.database.session() as session:
        found = session.scalar(select(QueuedCall).where(QueuedCall.call_sid == call_sid))
        assert found is not None
        return found


def seat_row(router: Router, seat_id: str) -> Seat:
    with router.database.session() as session:
        found = session.get(Seat, seat_id)
        assert found is not None
        return found


def consistent(router: Router) -> None:
    assert router.index.snapshot().problems() == []
