"""What a recording is evidence of: its call, seat, caller and complaint.

The complaint module calls :func:`attach_call_to_complaint` when a seat attaches a call to a
complaint, and :func:`evidence_list` to show a complaint's evidence with its hashes. The link
is kept per call, so that a recording whose callback arrives after the attachment (the seat
files the complaint while still talking) is attached on arrival.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from callcenter.db import insert_ignoring_conflict, utcnow
from ivr.models import Call
from queues.models import QueuedCall
from recordings.models import CallComplaintLink, Recording


class AlreadyAttached(ValueError):
    """The call is already evidence of another complaint; evidence never moves silently."""

    def __init__(self, call_sid: str, complaint_id: int) -> None:
        super().__init__(f"call {call_sid} is already attached to complaint {complaint_id}")
        self.call_sid, self.complaint_id = call_sid, complaint_id


def complaint_of_call(session: Session, call_sid: str) -> int | None:
    return session.scalar(
        select(CallComplaintLink.complaint_id).where(CallComplaintLink.call_sid == call_sid)
    )


def caller_of_call(session: Session, call_sid: str) -> str:
    return session.scalar(select(Call.from_number).where(Call.call_sid == call_sid)) or ""


def seat_of_call(session: Session, call_sid: str) -> str | None:
    """The seat the routing connected the call to, from its hold-queue record."""
    return session.scalar(select(QueuedCall.seat_id).where(QueuedCall.call_sid == call_sid))


def attach_call_to_complaint(session: Session, call_sid: str, complaint_id: int,
                             by_staff: str | None, now: datetime | None = None) -> int:
    """Make the call's recordings, present and future, evidence of ``complaint_id``.

    Idempotent for the same complaint; returns how many recordings are attached now.
    Raises :class:`AlreadyAttached` if the call is evidence of another complaint.
    """
    insert_ignoring_conflict(session, CallComplaintLink.__table__, {
        "call_sid": call_sid, "complaint_id": complaint_id, "attached_by": by_staff,
        "attached_at": now or utcnow(),
    }, ["call_sid"])
    linked = complaint_of_call(session, call_sid)
    if linked != complaint_id:
        raise AlreadyAttached(call_sid, linked or 0)
    session.execute(
        update(Recording)
        .where(Recording.call_sid == call_sid, Recording.complaint_id.is_(None))
        .values(complaint_id=complaint_id)
    )
    return len(_recordings_of_complaint(session, complaint_id, call_sid))


def reconcile_links(session: Session) -> int:
    """Attach recordings that a callback created while their call was being attached.

    A callback and an attachment committing at the same moment can each miss the other's
    row; this catches that up (run by the periodic sweep). Returns how many were fixed.
    """
    fixed = 0
    orphans = session.execute(
        select(Recording.id, CallComplaintLink.complaint_id)
        .join(CallComplaintLink, CallComplaintLink.call_sid == Recording.call_sid)
        .where(Recording.complaint_id.is_(None))
    ).all()
    for recording_id, complaint_id in orphans:
        session.execute(update(Recording).where(Recording.id == recording_id,
                                                Recording.complaint_id.is_(None))
                        .values(complaint_id=complaint_id))
        fixed += 1
    return fixed


def _recordings_of_complaint(session: Session, complaint_id: int,
                             call_sid: str | None = None) -> list[Recording]:
    linked_calls = select(CallComplaintLink.call_sid).where(
        CallComplaintLink.complaint_id == complaint_id)
    query = select(Recording).where(or_(Recording.complaint_id == complaint_id,
                                        Recording.call_sid.in_(linked_calls)))
    if call_sid is not None:
        query = query.where(Recording.call_sid == call_sid)
    return list(session.scalars(query.order_by(Recording.created_at, Recording.id)))


def recording_summary(recording: Recording) -> dict[str, Any]:
    """The JSON description of a recording: links, state and the hash of the evidence."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "recording_sid": recording.recording_sid,
        "call_sid": recording.call_sid,
        "kind": recording.kind,
        "status": recording.status,
        "seat_id": recording.seat_id,
        "caller_number": recording.caller_number,
        "complaint_id": recording.complaint_id,
        "duration_seconds": recording.duration_seconds,
        "channels": recording.channels,
        "started_at": iso(recording.started_at or recording.created_at),
        "media_state": recording.media_state,
        "format": recording.media_format or None,
        "size_bytes": recording.size_bytes,
        "sha256": recording.sha256 or None,
        "downloaded_at": iso(recording.downloaded_at),
        "integrity": recording.integrity,
        "verified_at": iso(recording.verified_at),
        "purged_at": iso(recording.purged_at),
        "media_url": f"/api/recordings/{recording.recording_sid}/media"
        if recording.media_state == "stored" else None,
    }


def evidence_list(session: Session, complaint_id: int) -> list[dict[str, Any]]:
    """A complaint's recordings, oldest first, each with its SHA-256 and integrity state."""
    return [recording_summary(r) for r in _recordings_of_complaint(session, complaint_id)]
