"""RQ jobs of complaint handling, run in app context by ``ivr worker`` (queue ``complaints``).

Top-level functions taking ids (or nothing); they reach the database and Twilio through
``services()``. Time is the app's clock, ``services().now()``, unless a job is given one.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from callcenter.services import services
from handlers import (
    breaches,
    clocks,
    dispatch,
    evidence,
    notify,
    survey_attempts,
    telephony,
    trail,
    workflow,
)
from handlers.calendar_store import load_calendar
from handlers.context import complaint_policy
from handlers.models import ComplaintCallback, NotificationStatus
from handlers.policy import MetOn
from handlers.telephony import TelephonyError
from handlers.trail import Action, Actor
from ivr.context import public_url

log = logging.getLogger(__name__)


def check_deadlines(now: str | None = None) -> int:
    """The periodic SLA check: act on every breach due, exactly once. Returns how many.

    ``now`` (ISO 8601) checks as of another time than the app's clock.
    """
    svc = services()
    moment = datetime.fromisoformat(now) if now else svc.now()
    return breaches.check_all(svc.database, moment, complaint_policy())


def dispatch_due_work() -> dict[str, int]:
    """The periodic dispatcher: survey calls now due, SMS never enqueued or to retry, and
    survey calls whose outcome never arrived."""
    svc = services()
    now, policy = svc.now(), complaint_policy()
    with svc.database.session() as session:
        sms = notify.due_for_sending(session, now)
        calls = survey_attempts.due_attempts(session, now)
        lost = survey_attempts.lost_attempts(session, now)
    for notification_id in sms:
        dispatch.enqueue_sms(notification_id)
    for callback_id in calls:
        dispatch.enqueue_survey_call(callback_id)
    for callback_id in lost:
        with svc.database.session() as session:
            attempt = session.get(ComplaintCallback, callback_id)
            if attempt is not None:
                complaint = workflow.lock(session, attempt.complaint_id)
                session.refresh(attempt)
                survey_attempts.unreached(session, complaint, attempt, "no_final_status", now,
                                          policy, load_calendar(session, policy))
    return {"sms": len(sms), "calls": len(calls), "lost_calls": len(lost)}


def send_notification(notification_id: int) -> str:
    """Send one SMS of the outbox. A failure is recorded and raised, so RQ retries it."""
    svc = services()
    with svc.database.session() as session:
        row = notify.claim(session, notification_id, svc.now())
        if row is None:
            return "not sendable (sent, being sent or given up)"
        to, body = row.to_number, row.body
    try:
        sid = telephony.send_sms(svc.twilio, to=to, from_=svc.settings.twilio_caller_id,
                                 body=body)
    except TelephonyError as exc:
        with svc.database.session() as session:
            row = notify.mark_failed(session, notification_id, str(exc))
            if row.status == NotificationStatus.DEAD:
                complaint = workflow.lock(session, row.complaint_id)
                trail.record(session, complaint, Actor.system("sms"),
                             Action.NOTIFICATION_FAILED, svc.now(), kind=row.kind,
                             reason=str(exc)[:200], attempts=row.attempts)
        raise
    with svc.database.session() as session:
        row = notify.mark_sent(session, notification_id, sid, svc.now())
        if row.kind == "acknowledgment":
            _acknowledged(session, row.complaint_id, sid)
    return sid


def _acknowledged(session: Session, complaint_id: int, sid: str) -> None:
    """The acknowledgment is out: the deadlines met by it are met."""
    svc, policy = services(), complaint_policy()
    now = svc.now()
    complaint = workflow.lock(session, complaint_id)
    calendar = load_calendar(session, policy)
    met = [r for r in clocks.running(session, complaint.id) if r.met_on == MetOn.ACKNOWLEDGED]
    clocks.meet(session, complaint, policy, met, now)
    clocks.refresh(session, complaint, policy, calendar, now)
    trail.record(session, complaint, Actor.system("sms"), Action.ACKNOWLEDGED, now,
                 message_sid=sid, deadlines=[r.deadline for r in met])


def place_survey_call(callback_id: int) -> str:
    """Place one call-back survey call (claimed, so never twice); a failure to place it is
    an unanswered attempt."""
    svc = services()
    policy = complaint_policy()
    with svc.database.session() as session:
        attempt = survey_attempts.claim(session, callback_id, svc.now())
        if attempt is None:
            return "not due (placed, cancelled or unknown)"
        to = attempt.to_number
    try:
        sid = telephony.place_call(
            svc.twilio, to=to, from_=svc.settings.twilio_caller_id,
            url=public_url("/complaints/survey", callback=str(callback_id)),
            status_callback=public_url("/complaints/survey/status", callback=str(callback_id)),
            recording_status_callback=public_url("/recordings/status", kind="conversation"),
        )
    except TelephonyError as exc:
        log.warning("survey call %s could not be placed: %s", callback_id, exc)
        with svc.database.session() as session:
            attempt = session.get(ComplaintCallback, callback_id)
            assert attempt is not None
            complaint = workflow.lock(session, attempt.complaint_id)
            session.refresh(attempt)
            survey_attempts.unreached(session, complaint, attempt, "not_placed", svc.now(),
                                      policy, load_calendar(session, policy))
        return "not placed"
    with svc.database.session() as session:
        attempt = session.get(ComplaintCallback, callback_id)
        assert attempt is not None
        complaint = workflow.lock(session, attempt.complaint_id)
        session.refresh(attempt)
        attempt.call_sid = attempt.call_sid or sid
        trail.record(session, complaint, survey_attempts.SYSTEM, Action.CALLBACK_PLACED,
                     svc.now(), attempt=attempt.attempt, call_sid=sid)
        evidence.attach_call(session, complaint, sid, survey_attempts.SYSTEM, svc.now())
    return sid
