"""Recomputing open complaints' deadlines after the working calendar changed.

When an operator enters a year's schedule, deadlines that relied on the fallback for that
year (marked provisional) move to their real dates; each complaint whose deadlines moved
gets a trail entry saying from when to when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import clocks, trail, workflow
from handlers.calendar import WorkingCalendar
from handlers.models import ClockStatus, ComplaintClock
from handlers.policy import Policy
from handlers.trail import Action, Actor


def recompute_open(session: Session, policy: Policy, calendar: WorkingCalendar, now: datetime,
                   actor: Actor) -> dict[str, int]:
    """Refresh every running clock; returns how many complaints and deadlines moved."""
    ids = list(session.scalars(
        select(ComplaintClock.complaint_id).where(ComplaintClock.status == ClockStatus.RUNNING)
        .group_by(ComplaintClock.complaint_id).order_by(ComplaintClock.complaint_id)
    ))
    complaints = deadlines = 0
    for complaint_id in ids:
        complaint = workflow.lock(session, complaint_id)
        moved = clocks.refresh(session, complaint, policy, calendar, now)
        if moved:
            complaints += 1
            deadlines += len(moved)
            trail.record(session, complaint, actor, Action.DEADLINES_RECOMPUTED, now,
                         moved={key: {"from": old, "to": new} for key, (old, new) in moved.items()},
                         provisional=complaint.provisional)
    return {"complaints": complaints, "deadlines": deadlines}
