"""Entering and leaving a skill's hold queue, on the durable side (the database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.db import insert_ignoring_conflict
from queues.models import OverflowChoice, QueuedCall, WaitStatus

# Twilio's QueueResult values of an <Enqueue> action, mapped to what happened to the wait.
# "redirected" is absent on purpose: that is the routing moving the caller to a seat.
LEAVE_RESULTS = {
    "hangup": WaitStatus.ABANDONED,
    "leave": WaitStatus.OVERFLOWED,
    "bridged": WaitStatus.CONNECTED,
    "bridging-in-process": WaitStatus.CONNECTED,
    "queue-full": WaitStatus.OVERFLOWED,
    "error": WaitStatus.OVERFLOWED,
    "system-error": WaitStatus.OVERFLOWED,
}
UNSERVED = (WaitStatus.WAITING, WaitStatus.OFFERED)


def queue_name(skill: str) -> str:
    """The Twilio queue a skill's callers wait in."""
    return f"hold-{skill}"


def enter_queue(
    session: Session, *, call_sid: str, caller_number: str, skill: str, priority: int,
    now: datetime,
) -> bool:
    """Persist that the call waits for ``skill``; a retried webhook does not enqueue twice."""
    return insert_ignoring_conflict(session, QueuedCall.__table__, {
        "call_sid": call_sid,
        "caller_number": caller_number,
        "skill": skill,
        "priority": priority,
        "status": WaitStatus.WAITING,
        "entered_at": now,
    }, ["call_sid"])


def _stop_waiting(session: Session, call_sid: str, status: WaitStatus, now: datetime,
                  **extra: object) -> bool:
    """A call not yet served stops waiting, with the time it waited; True if it did."""
    entered = session.scalar(select(QueuedCall.entered_at).where(QueuedCall.call_sid == call_sid))
    if entered is None:
        return False
    waited = max(0, round((now - entered).total_seconds()))
    result = session.execute(
        update(QueuedCall)
        .where(QueuedCall.call_sid == call_sid, QueuedCall.status.in_(list(UNSERVED)))
        .values(status=status, left_at=now, waited_seconds=waited, **extra)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def leave_queue(session: Session, call_sid: str, queue_result: str, now: datetime) -> str | None:
    """Record why the call stopped waiting; returns the new status, or None if unknown."""
    status = LEAVE_RESULTS.get(queue_result)
    if status is None:
        return None
    if status is WaitStatus.CONNECTED:
        session.execute(
            update(QueuedCall)
            .where(QueuedCall.call_sid == call_sid, QueuedCall.status.in_(list(UNSERVED)))
            .values(status=status, left_at=now))
    else:
        _stop_waiting(session, call_sid, status, now)
    return status


def hung_up(session: Session, call_sid: str, now: datetime) -> bool:
    """The caller hung up: a call not yet served is abandoned, with the time it waited.
    True if the call ever entered a hold queue (its routing must be told either way)."""
    _stop_waiting(session, call_sid, WaitStatus.ABANDONED, now)
    return waiting_call(session, call_sid) is not None


def choose_overflow(session: Session, call_sid: str, choice: OverflowChoice,
                    now: datetime) -> bool:
    """The caller chose to leave the queue for voicemail or a call-back; True if recorded."""
    return _stop_waiting(session, call_sid, WaitStatus.OVERFLOWED, now, overflow_choice=choice)


def recent_handle_seconds(session: Session, skill: str, limit: int) -> list[int]:
    """Handling times of the queue's latest conversations, newest first (Twilio's own
    DialCallDuration where it was reported)."""
    return list(session.scalars(
        select(QueuedCall.handle_seconds)
        .where(QueuedCall.skill == skill, QueuedCall.status == WaitStatus.COMPLETED,
               QueuedCall.handle_seconds.is_not(None), QueuedCall.left_at.is_not(None))
        .order_by(QueuedCall.left_at.desc()).limit(limit)))


def waiting_call(session: Session, call_sid: str) -> QueuedCall | None:
    return session.scalar(select(QueuedCall).where(QueuedCall.call_sid == call_sid))
