"""Who may hear a recording or control a call's recording, and the log of every access.

A recording attached to a complaint is read under the complaint's own rule,
``handlers.access.can_read`` (supervisors, the roles on its handling chain, the people who
handled it), asked in one place, :func:`complaint_readable`. A recording attached to no
complaint may be read by supervisors and by the seat that took the call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from handlers import access as complaint_access
from handlers.models import Complaint
from queues.models import QueuedCall, Seat
from recordings.models import Recording, RecordingAccess
from staff.models import Role, Staff


def seat_ids_of(session: Session, staff_id: str) -> set[str]:
    """The seats a person works (at most one today)."""
    return set(session.scalars(select(Seat.id).where(Seat.staff_id == staff_id)))


def took_call(session: Session, staff: Staff, call_sid: str) -> bool:
    """Whether one of the person's seats took the call: named on one of its recordings,
    on its hold-queue record, or on the call now."""
    seats = seat_ids_of(session, staff.id)
    if not seats:
        return False
    return bool(session.scalar(select(
        exists().where(Recording.call_sid == call_sid, Recording.seat_id.in_(seats))
        | exists().where(QueuedCall.call_sid == call_sid, QueuedCall.seat_id.in_(seats))
        | exists().where(Seat.id.in_(seats), Seat.current_call_sid == call_sid)
    )))


def complaint_readable(session: Session, staff: Staff, complaint_id: int) -> bool:
    """The complaint's read rule, as it applies to its evidence."""
    complaint = session.get(Complaint, complaint_id)
    return complaint is not None and complaint_access.can_read(session, staff, complaint)


def can_read(session: Session, staff: Staff, recording: Recording) -> bool:
    """Whether ``staff`` may see, hear or download ``recording``."""
    if staff.role == Role.SUPERVISOR:
        return True
    if recording.complaint_id is not None:
        return complaint_readable(session, staff, recording.complaint_id)
    return took_call(session, staff, recording.call_sid)


def can_control_recording(session: Session, staff: Staff, call_sid: str) -> bool:
    """Whether ``staff`` may pause or resume the recording of a call: its seat, or a
    supervisor."""
    return staff.role == Role.SUPERVISOR or took_call(session, staff, call_sid)


def log_access(session: Session, *, recording_id: int, staff_id: str, action: str,
               allowed: bool, now: datetime, byte_range: str = "",
               remote_addr: str = "") -> None:
    """Keep who read which recording when, and how (metadata, play, download; denied)."""
    session.add(RecordingAccess(recording_id=recording_id, staff_id=staff_id, at=now,
                                action=action, allowed=allowed, byte_range=byte_range[:64],
                                remote_addr=remote_addr[:64]))
