"""Entering and leaving a skill's hold queue, on the durable side (the database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.db import insert_ignoring_conflict
from queues.models import QueuedCall, WaitStatus

# Twilio's QueueResult values of an <Enqueue> action, mapped to what happened to the wait.
LEAVE_RESULTS = {
    "hangup": WaitStatus.ABANDONED,
    "leave": WaitStatus.OVERFLOWED,
    "bridged": WaitStatus.CONNECTED,
    "bridging-in-process": WaitStatus.CONNECTED,
    "queue-full": WaitStatus.OVERFLOWED,
    "error": WaitStatus.OVERFLOWED,
    "system-error": WaitStatus.OVERFLOWED,
}


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


def leave_queue(session: Session, call_sid: str, queue_result: str, now: datetime) -> str | None:
    """Record why the call stopped waiting; returns the new status, or None if unknown."""
    status = LEAVE_RESULTS.get(queue_result)
    if status is None:
        return None
    session.execute(
        update(QueuedCall)
        .where(QueuedCall.call_sid == call_sid,
               QueuedCall.status.in_([WaitStatus.WAITING, WaitStatus.OFFERED]))
        .values(status=status, left_at=now)
    )
    return status


def waiting_call(session: Session, call_sid: str) -> QueuedCall | None:
    return session.scalar(select(QueuedCall).where(QueuedCall.call_sid == call_sid))
