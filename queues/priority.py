"""What the hotline knows about a caller that raises their place in a hold queue.

:class:`CallerStanding` is read from the database when the call enters a queue and turned
into a priority by the deployment's :class:`queues.skills.PriorityRules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.models import COMPLAINT_IS_OPEN, Complaint
from ivr.models import CallbackStatus, CallbackTask
from queues.skills import PriorityRules

URGENT = "urgent"  # the urgency id of urgent complaints in the complaint policy
REPEAT_WINDOW = timedelta(days=30)
REPEAT_COUNT = 2  # this many complaints within the window make the caller a repeat complainant


@dataclass(frozen=True, slots=True)
class CallerStanding:
    """``open_complaint``: a complaint of theirs is not closed; ``urgent_or_repeat``: one of
    those is urgent or was reopened, or they complained repeatedly of late; ``callback``:
    a call-back is owed to them."""

    open_complaint: bool = False
    urgent_or_repeat: bool = False
    callback: bool = False

    def priority(self, rules: PriorityRules, skill: str) -> int:
        return rules.priority_for(skill, open_complaint=self.open_complaint,
                                  urgent_or_repeat=self.urgent_or_repeat,
                                  callback=self.callback)


def caller_standing(session: Session, caller_number: str, now: datetime) -> CallerStanding:
    """Read the caller's standing (two indexed queries; nothing for an unknown number)."""
    if not caller_number:
        return CallerStanding()
    open_rows = session.execute(
        select(Complaint.urgency, Complaint.reopen_count)
        .where(Complaint.caller_number == caller_number, COMPLAINT_IS_OPEN)
    ).all()
    urgent_or_reopened = any(urgency == URGENT or reopened for urgency, reopened in open_rows)
    recent = 0
    if open_rows and not urgent_or_reopened:
        recent = session.scalar(
            select(func.count(Complaint.id)).where(
                Complaint.caller_number == caller_number,
                Complaint.created_at >= now - REPEAT_WINDOW)
        ) or 0
    owed = session.scalar(
        select(CallbackTask.id).where(CallbackTask.caller_number == caller_number,
                                      CallbackTask.status == CallbackStatus.OPEN).limit(1)
    )
    return CallerStanding(
        open_complaint=bool(open_rows),
        urgent_or_repeat=urgent_or_reopened or recent >= REPEAT_COUNT,
        callback=owed is not None,
    )
