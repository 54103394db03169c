"""The call-back survey call (回访): what the caller hears and what their keys do.

When the caller picks up, the complaint moves from feedback to the call-back stage and the
result is read out; a key of 1 to the policy's rating scale rates it, ``0`` says the problem
is not solved. Bad or missing input is asked again, like the IVR menu. A rating is applied
once, however often Twilio retries the webhook; a call that ends without one is an
unanswered attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from callcenter.numbers import is_ascii_number
from handlers import survey_attempts, trail, workflow
from handlers.calendar import WorkingCalendar
from handlers.models import CallbackStatus, Complaint, ComplaintCallback
from handlers.policy import Policy
from handlers.trail import Action, Actor
from ivr.models import FINAL_CALL_STATUSES

NOT_SOLVED_KEY = "0"
MAX_TRIES = 3


def read_rating(digits: str, scale: int) -> tuple[int | None, bool | None] | None:
    """``(rating, solved)`` from the key pressed, or None for anything else."""
    if digits == NOT_SOLVED_KEY:
        return None, False
    if len(digits) == 1 and is_ascii_number(digits) and 1 <= int(digits) <= scale:
        return int(digits), None
    return None


@dataclass(frozen=True)
class Opening:
    """What the caller hears first: which complaint, and its result."""

    number: str
    result: str


def _locked(session: Session, callback_id: int) -> tuple[ComplaintCallback, Complaint] | None:
    """The attempt, read again once its complaint is locked (webhooks may race)."""
    attempt = session.get(ComplaintCallback, callback_id)
    if attempt is None:
        return None
    complaint = workflow.lock(session, attempt.complaint_id)
    session.refresh(attempt)
    return attempt, complaint


class Reply(StrEnum):
    ASK_AGAIN = "ask_again"
    THANKS = "thanks"  # satisfied
    SORRY = "sorry"  # unsatisfied: the complaint is being handled again
    NO_RATING = "no_rating"  # gave up asking; a seat or a later call will follow
    GOODBYE = "goodbye"  # the survey is no longer wanted (already rated, cancelled...)


def answered(session: Session, callback_id: int, call_sid: str, now: datetime,
             policy: Policy, calendar: WorkingCalendar) -> Opening | None:
    """The caller picked up; None if this attempt is no longer wanted."""
    found = _locked(session, callback_id)
    if found is None:
        return None
    attempt, complaint = found
    if attempt.status == CallbackStatus.CALLING:
        attempt.status, attempt.answered_at = CallbackStatus.ANSWERED, now
        attempt.call_sid = attempt.call_sid or call_sid or None
        caller = Actor.caller(attempt.to_number)
        trail.record(session, complaint, caller, Action.CALLBACK_ANSWERED, now,
                     attempt=attempt.attempt, call_sid=call_sid)
        if complaint.stage == workflow.feedback_stage(policy):
            workflow.enter_stage(session, complaint, policy.flow.callback, actor=caller,
                                 now=now, policy=policy, calendar=calendar)
    if attempt.status != CallbackStatus.ANSWERED:
        return None
    return Opening(complaint.number, complaint.result)


def rate(session: Session, callback_id: int, digits: str, try_number: int, now: datetime,
         policy: Policy, calendar: WorkingCalendar) -> Reply:
    """The caller pressed ``digits`` (or nothing) at the ``try_number``th asking."""
    found = _locked(session, callback_id)
    if found is None:
        return Reply.GOODBYE
    attempt, complaint = found
    if attempt.status == CallbackStatus.RATED:  # Twilio retried the webhook
        satisfied = attempt.outcome == "satisfied"
        return Reply.THANKS if satisfied else Reply.SORRY
    if attempt.status != CallbackStatus.ANSWERED:
        return Reply.GOODBYE
    verdict = read_rating(digits, policy.callback.rating_scale)
    if verdict is None:
        if try_number < MAX_TRIES:
            return Reply.ASK_AGAIN
        survey_attempts.unreached(session, complaint, attempt, "no_rating", now, policy,
                                  calendar)
        return Reply.NO_RATING
    rating, solved = verdict
    attempt.rating, attempt.solved = rating, solved
    decision = workflow.apply_callback_result(
        session, complaint, Actor.caller(attempt.to_number), rating=rating, solved=solved,
        now=now, policy=policy, calendar=calendar)
    attempt.status, attempt.ended_at = CallbackStatus.RATED, now
    attempt.outcome = "satisfied" if decision.satisfied else "unsatisfied"
    return Reply.THANKS if decision.satisfied else Reply.SORRY


def call_ended(session: Session, callback_id: int, call_sid: str, status: str, now: datetime,
               policy: Policy, calendar: WorkingCalendar) -> None:
    """Twilio's final status of a survey call: unanswered, busy or unrated is a missed try."""
    if status not in FINAL_CALL_STATUSES:
        return
    found = _locked(session, callback_id)
    if found is None:
        return
    attempt, complaint = found
    if attempt.call_sid and call_sid and attempt.call_sid != call_sid:
        return
    attempt.call_status = status
    attempt.call_sid = attempt.call_sid or call_sid or None
    reason = "hung_up_before_rating" if status == "completed" else status
    survey_attempts.unreached(session, complaint, attempt, reason, now, policy, calendar)
