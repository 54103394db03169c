"""Live figures of the hold queues and seats (``GET /api/queues``, ``ivr queues``).

Per queue: calls waiting now and the longest wait; over the last ``figures_window_s``
(an hour by default): calls answered and their average wait, average handling time, calls
abandoned and how long they had waited, and the service level — the share of calls
answered within ``service_level_s`` (20 s) among the calls answered or abandoned in the
window. Per seat: its state and how long it has been in it. Read from the database, the
durable record, so the figures survive a Redis restart; :func:`summarize` is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from queues.config import RoutingConfig
from queues.models import QueuedCall, Seat, WaitStatus
from queues.routing import SeatState


class CallRow(NamedTuple):
    """The columns of a queued call the figures need."""

    skill: str
    status: str
    entered_at: datetime
    answered_at: datetime | None
    left_at: datetime | None
    ended_at: datetime | None
    waited_seconds: int | None
    handle_seconds: int | None


@dataclass(frozen=True, slots=True)
class QueueFigures:
    queue: str
    waiting: int
    longest_wait_s: int
    answered: int
    average_wait_s: float | None
    average_handle_s: float | None
    abandoned: int
    abandoned_average_wait_s: float | None
    service_level: float | None
    available_seats: int


@dataclass(frozen=True, slots=True)
class SeatFigures:
    seat_id: str
    name: str
    state: str
    seconds_in_state: int
    current_call_sid: str | None


def _mean(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def summarize(queue: str, rows: Iterable[CallRow], now: datetime, window: timedelta,
              service_level_s: int, available_seats: int = 0) -> QueueFigures:
    """The figures of ``queue`` from its calls' rows (any rows; those outside the window
    and of other queues are ignored)."""
    start = now - window
    waiting, answer_waits, handles, abandon_waits = [], [], [], []
    for row in rows:
        if row.skill != queue:
            continue
        if row.status in (WaitStatus.WAITING, WaitStatus.OFFERED):
            waiting.append(max(0, int((now - row.entered_at).total_seconds())))
        if row.answered_at is not None and row.answered_at >= start:
            answer_waits.append(row.waited_seconds if row.waited_seconds is not None else
                                int((row.answered_at - row.entered_at).total_seconds()))
        if row.ended_at is not None and row.ended_at >= start and row.handle_seconds is not None:
            handles.append(row.handle_seconds)
        if (row.status == WaitStatus.ABANDONED and row.left_at is not None
                and row.left_at >= start):
            abandon_waits.append(row.waited_seconds or 0)
    handled = len(answer_waits) + len(abandon_waits)
    within = sum(1 for waited in answer_waits if waited <= service_level_s)
    return QueueFigures(
        queue=queue, waiting=len(waiting), longest_wait_s=max(waiting, default=0),
        answered=len(answer_waits), average_wait_s=_mean(answer_waits),
        average_handle_s=_mean(handles), abandoned=len(abandon_waits),
        abandoned_average_wait_s=_mean(abandon_waits),
        service_level=round(within / handled, 3) if handled else None,
        available_seats=available_seats,
    )


def queue_figures(session: Session, config: RoutingConfig, now: datetime) -> list[QueueFigures]:
    """Figures of every configured queue."""
    window = timedelta(seconds=config.figures_window_s)
    start = now - window
    rows = [CallRow(*row) for row in session.execute(
        select(QueuedCall.skill, QueuedCall.status, QueuedCall.entered_at,
               QueuedCall.answered_at, QueuedCall.left_at, QueuedCall.ended_at,
               QueuedCall.waited_seconds, QueuedCall.handle_seconds)
        .where(or_(QueuedCall.status.in_([WaitStatus.WAITING, WaitStatus.OFFERED]),
                   QueuedCall.left_at >= start, QueuedCall.answered_at >= start,
                   QueuedCall.ended_at >= start)))]
    available = [skills or {} for skills in session.scalars(
        select(Seat.skills).where(Seat.state == SeatState.AVAILABLE))]
    return [summarize(queue, rows, now, window, config.service_level_s,
                      sum(1 for skills in available if queue in skills))
            for queue in config.policy.queue_names]


def seat_figures(session: Session, now: datetime) -> list[SeatFigures]:
    return [SeatFigures(seat.id, seat.name, seat.state,
                        max(0, int((now - seat.state_since).total_seconds())),
                        seat.current_call_sid)
            for seat in session.scalars(select(Seat).order_by(Seat.id))]


def figures_json(session: Session, config: RoutingConfig, now: datetime) -> dict[str, Any]:
    return {
        "at": now.isoformat(),
        "window_seconds": config.figures_window_s,
        "service_level_seconds": config.service_level_s,
        "queues": [asdict(figures) for figures in queue_figures(session, config, now)],
        "seats": [asdict(figures) for figures in seat_figures(session, now)],
    }
