"""The notification outbox: inbox entries for staff roles, SMS for the caller.

Notifications are rows written in the same transaction as the trail event that causes them,
once per event and recipient, so a breach acted on once notifies once. SMS rows are then
claimed and sent by ``handlers.jobs.send_notification``; an SMS job that dies after sending
but before recording it leaves the row ``sending`` until the dispatcher retries it, so a
caller may exceptionally receive one SMS twice, never none.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from handlers import dispatch
from handlers.models import Complaint, ComplaintEvent, ComplaintNotification, NotificationStatus

CALLER_ROLE = "caller"  # the policy's name for the complainant in notify lists
SMS, INBOX = "sms", "inbox"
MAX_SMS_ATTEMPTS = 5
RETRY_FAILED_AFTER = timedelta(minutes=5)
STUCK_AFTER = timedelta(minutes=10)
UNSENT_AFTER = timedelta(minutes=1)


def to_roles(session: Session, complaint: Complaint, event: ComplaintEvent,
             roles: Iterable[str], *, kind: str, text: str,
             now: datetime) -> list[ComplaintNotification]:
    """An inbox entry for each staff role; the caller is told only through ``to_caller``."""
    rows = []
    for role in dict.fromkeys(roles):
        if role == CALLER_ROLE:
            continue
        row = ComplaintNotification(
            complaint_id=complaint.id, event_id=event.id, kind=kind, recipient_role=role,
            channel=INBOX, body=text, status=NotificationStatus.STORED, created_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def caller_number(complaint: Complaint) -> str:
    return complaint.contact_number or complaint.caller_number


def to_caller(session: Session, complaint: Complaint, event: ComplaintEvent, *, kind: str,
              body: str, now: datetime) -> ComplaintNotification | None:
    """Queue an SMS to the complainant; None when there is no number to send it to."""
    number = caller_number(complaint)
    if not number:
        return None
    row = ComplaintNotification(
        complaint_id=complaint.id, event_id=event.id, kind=kind, recipient_role=CALLER_ROLE,
        channel=SMS, to_number=number, body=body, status=NotificationStatus.PENDING,
        created_at=now,
    )
    session.add(row)
    session.flush()
    dispatch.send_sms_after_commit(session, row.id)
    return row


def claim(session: Session, notification_id: int, now: datetime) -> ComplaintNotification | None:
    """Take an SMS for sending; None if it is sent, being sent, or given up."""
    taken = session.execute(
        update(ComplaintNotification)
        .where(ComplaintNotification.id == notification_id,
               ComplaintNotification.channel == SMS,
               ComplaintNotification.status.in_(
                   [NotificationStatus.PENDING, NotificationStatus.FAILED]))
        .values(status=NotificationStatus.SENDING, claimed_at=now,
                attempts=ComplaintNotification.attempts + 1)
    ).rowcount  # type: ignore[attr-defined]
    return session.get(ComplaintNotification, notification_id) if taken else None


def mark_sent(session: Session, notification_id: int, provider_sid: str,
              now: datetime) -> ComplaintNotification:
    row = session.get(ComplaintNotification, notification_id)
    assert row is not None
    row.status, row.provider_sid, row.sent_at, row.last_error = (
        NotificationStatus.SENT, provider_sid[:64], now, "")
    session.flush()
    return row


def mark_failed(session: Session, notification_id: int, error: str) -> ComplaintNotification:
    """Record a failed try; after ``MAX_SMS_ATTEMPTS`` the SMS is given up (``dead``)."""
    row = session.get(ComplaintNotification, notification_id)
    assert row is not None
    dead = row.attempts >= MAX_SMS_ATTEMPTS
    row.status = NotificationStatus.DEAD if dead else NotificationStatus.FAILED
    row.last_error = error[:256]
    session.flush()
    return row


def due_for_sending(session: Session, now: datetime) -> list[int]:
    """SMS the dispatcher should (re)enqueue: never enqueued, failed a while ago, or stuck
    in ``sending`` because the worker sending them died."""
    session.execute(
        update(ComplaintNotification)
        .where(ComplaintNotification.status == NotificationStatus.SENDING,
               ComplaintNotification.claimed_at < now - STUCK_AFTER)
        .values(status=NotificationStatus.FAILED, last_error="the sending worker stopped")
    )
    return list(session.scalars(
        select(ComplaintNotification.id).where(
            ComplaintNotification.channel == SMS,
            or_(
                (ComplaintNotification.status == NotificationStatus.PENDING)
                & (ComplaintNotification.created_at < now - UNSENT_AFTER),
                (ComplaintNotification.status == NotificationStatus.FAILED)
                & (ComplaintNotification.claimed_at < now - RETRY_FAILED_AFTER),
            ),
        ).order_by(ComplaintNotification.id).limit(500)
    ))


def inbox(session: Session, role: str, limit: int = 100) -> list[ComplaintNotification]:
    return list(session.scalars(
        select(ComplaintNotification)
        .where(ComplaintNotification.channel == INBOX,
               ComplaintNotification.recipient_role == role)
        .order_by(ComplaintNotification.id.desc()).limit(limit)
    ))
