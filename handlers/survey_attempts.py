"""Call-back survey attempts: when each call is due, who claims it, what a missed one leads to.

The first call is due when the result reaches the caller's stage, or at the next opening of
the policy's business hours (nobody is surveyed at night); each unanswered call is followed
by another ``retry_after`` later, up to the policy's ``attempts``; then a seat is given a
call-back task. Attempts are rows claimed by one job each, so a call is never placed twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.db import insert_ignoring_conflict
from handlers import dispatch, notify, trail
from handlers.calendar import WorkingCalendar
from handlers.models import CallbackStatus, Complaint, ComplaintCallback
from handlers.policy import Policy
from handlers.sla import Duration, Unit, deadline
from handlers.trail import Action, Actor
from ivr.callbacks import create_callback_task
from ivr.context import ivr_config

SYSTEM = Actor.system("call-back")
UNANSWERED_AFTER = timedelta(hours=1)  # a call with no final status by then is lost
OPEN = (CallbackStatus.SCHEDULED, CallbackStatus.CALLING, CallbackStatus.ANSWERED)


def schedule(session: Session, complaint: Complaint, policy: Policy, calendar: WorkingCalendar,
             now: datetime, *, attempt: int = 1) -> ComplaintCallback | None:
    """Plan the ``attempt``th survey call of the complaint's current round."""
    number = notify.caller_number(complaint)
    if not number:
        to_seat(session, complaint, now, reason="no_number")
        return None
    wait = Duration(0, Unit.BUSINESS_MINUTES) if attempt == 1 else policy.callback.retry_after
    due = deadline(now, wait, calendar).at
    insert_ignoring_conflict(session, ComplaintCallback.__table__, {
        "complaint_id": complaint.id, "round": complaint.reopen_count, "attempt": attempt,
        "status": CallbackStatus.SCHEDULED, "to_number": number, "due_at": due,
        "call_status": "", "outcome": "",
    }, ["complaint_id", "round", "attempt"])
    row = session.scalar(select(ComplaintCallback).where(
        ComplaintCallback.complaint_id == complaint.id,
        ComplaintCallback.round == complaint.reopen_count, ComplaintCallback.attempt == attempt))
    assert row is not None
    trail.record(session, complaint, SYSTEM, Action.CALLBACK_SCHEDULED, now, attempt=attempt,
                 due_at=due)
    if due <= now:
        dispatch.place_call_after_commit(session, row.id)
    return row


def claim(session: Session, callback_id: int, now: datetime) -> ComplaintCallback | None:
    """Take a scheduled attempt for calling; None if another job took it or it was cancelled."""
    taken = session.execute(
        update(ComplaintCallback)
        .where(ComplaintCallback.id == callback_id,
               ComplaintCallback.status == CallbackStatus.SCHEDULED)
        .values(status=CallbackStatus.CALLING, placed_at=now)
    ).rowcount  # type: ignore[attr-defined]
    return session.get(ComplaintCallback, callback_id) if taken else None


def due_attempts(session: Session, now: datetime) -> list[int]:
    return list(session.scalars(
        select(ComplaintCallback.id)
        .where(ComplaintCallback.status == CallbackStatus.SCHEDULED,
               ComplaintCallback.due_at <= now)
        .order_by(ComplaintCallback.due_at).limit(200)
    ))


def lost_attempts(session: Session, now: datetime) -> list[int]:
    """Calls placed long ago whose final status never arrived (or whose job died)."""
    return list(session.scalars(
        select(ComplaintCallback.id)
        .where(ComplaintCallback.status.in_([CallbackStatus.CALLING, CallbackStatus.ANSWERED]),
               ComplaintCallback.placed_at < now - UNANSWERED_AFTER)
        .limit(200)
    ))


def cancel_open(session: Session, complaint: Complaint, now: datetime) -> None:
    """The complaint has its call-back outcome: calls not yet made are not needed."""
    session.execute(
        update(ComplaintCallback)
        .where(ComplaintCallback.complaint_id == complaint.id,
               ComplaintCallback.status.in_(OPEN))
        .values(status=CallbackStatus.CANCELLED, ended_at=now, outcome="superseded")
    )


def unreached(session: Session, complaint: Complaint, attempt: ComplaintCallback, reason: str,
              now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
    """An attempt ended without a rating: try again later, or hand the call to a seat."""
    if attempt.status not in OPEN:
        return
    attempt.status, attempt.outcome, attempt.ended_at = CallbackStatus.UNREACHED, reason[:32], now
    trail.record(session, complaint, SYSTEM, Action.CALLBACK_UNREACHED, now,
                 attempt=attempt.attempt, reason=reason, call_sid=attempt.call_sid)
    if complaint.stage == policy.flow.archive or attempt.round != complaint.reopen_count:
        return
    if attempt.attempt < policy.callback.attempts:
        schedule(session, complaint, policy, calendar, now, attempt=attempt.attempt + 1)
    else:
        to_seat(session, complaint, now, reason=f"unreached_after_{attempt.attempt}",
                call_sid=attempt.call_sid or f"survey-{attempt.id}")


def to_seat(session: Session, complaint: Complaint, now: datetime, *, reason: str,
            call_sid: str | None = None) -> None:
    """Ask a seat to call the caller: a call-back task in the seats' list, and a note to
    the complaint's holder."""
    number = notify.caller_number(complaint)
    if number:
        create_callback_task(
            session, call_sid=(call_sid or f"complaint-{complaint.id}")[:64],
            caller_number=number, reason="complaint_callback", recording_sid=None,
            has_message=False, hours=ivr_config().hours, now=now,
        )
    event = trail.record(session, complaint, SYSTEM, Action.CALLBACK_TO_SEAT, now,
                         reason=reason, caller_number=number)
    notify.to_roles(session, complaint, event, [complaint.role], kind="callback_task", now=now,
                    text=f"投诉 {complaint.number} 回访电话未能接通,请人工回访并记录结果")
