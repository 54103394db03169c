"""Call-back tasks: a caller who could not be served now is called back in hours."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from callcenter.db import insert_ignoring_conflict
from ivr import calls
from ivr.hours import BusinessHours
from ivr.models import CallbackStatus, CallbackTask


def create_callback_task(
    session: Session, *, call_sid: str, caller_number: str, reason: str,
    recording_sid: str | None, has_message: bool, hours: BusinessHours, now: datetime,
) -> datetime:
    """One task per call (Twilio may post the Record action twice); returns when it is due."""
    due = hours.next_opening(now)
    insert_ignoring_conflict(session, CallbackTask.__table__, {
        "call_sid": call_sid,
        "caller_number": caller_number,
        "reason": reason,
        "menu_path": calls.menu_path_text(session, call_sid),
        "recording_sid": recording_sid,
        "has_message": has_message,
        "due_at": due,
        "status": CallbackStatus.OPEN,
        "created_at": now,
    }, ["call_sid"])
    return due

