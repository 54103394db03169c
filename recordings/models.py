"""Recording records: the evidence of a call or a voicemail, and the logs kept around it.

A recording row is created by the first status callback Twilio sends for it and is never
deleted: when the retention policy purges the media, the row keeps the storage key, the size
and the SHA-256 of what was deleted.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class RecordingKind(StrEnum):
    VOICEMAIL = "voicemail"
    CONVERSATION = "conversation"


class MediaState(StrEnum):
    """Where our copy of a recording's media stands."""

    WAITING = "waiting"  # Twilio is still recording
    PENDING = "pending"  # completed at Twilio; our copy is not stored yet
    STORED = "stored"  # our copy is stored and its SHA-256 recorded
    GAVE_UP = "gave_up"  # downloads failed for too long; an alert was raised
    NONE = "none"  # absent or failed at Twilio: there is no media to keep
    PURGED = "purged"  # deleted under the retention policy; record and hash kept


class Integrity(StrEnum):
    """The outcome of the last re-hash of a stored copy."""

    UNCHECKED = "unchecked"
    OK = "ok"
    MISSING = "missing"
    CHANGED = "changed"


class Recording(Base):
    """One recording made by Twilio, known from its first callback on.

    ``call_sid`` is the customer's call (the one the evidence is about); ``leg_call_sid`` is
    the call leg Twilio recorded, which differs when a seat's leg carries the recording and
    is the leg to name when pausing through the REST API.
    """

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    leg_call_sid: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32), default="")
    channels: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str] = mapped_column(String(16), default="")
    source_url: Mapped[str] = mapped_column(String(512), default="")
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    caller_number: Mapped[str] = mapped_column(String(32), default="", index=True)
    seat_id: Mapped[str | None] = mapped_column(String(32), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    media_state: Mapped[str] = mapped_column(String(16), default=MediaState.WAITING, index=True)
    media_format: Mapped[str] = mapped_column(String(8), default="")
    storage_backend: Mapped[str] = mapped_column(String(16), default="")
    storage_key: Mapped[str] = mapped_column(String(255), default="")
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    download_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    download_attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempt_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str] = mapped_column(String(512), default="")
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    integrity: Mapped[str] = mapped_column(String(16), default=Integrity.UNCHECKED)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    purge_reason: Mapped[str] = mapped_column(String(255), default="")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CallComplaintLink(Base):
    """A call attached to a complaint: its recordings, present and future, are evidence."""

    __tablename__ = "call_complaint_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    attached_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RecordingPause(Base):
    """A seat paused or resumed the recording of a call (payment or identity details)."""

    __tablename__ = "recording_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    recording_sid: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(255), default="")


class RecordingAccess(Base):
    """One read of a recording through the app, allowed or denied: who, when, which, what."""

    __tablename__ = "recording_accesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(16))
    allowed: Mapped[bool] = mapped_column(default=True)
    byte_range: Mapped[str] = mapped_column(String(64), default="")
    remote_addr: Mapped[str] = mapped_column(String(64), default="")


class RecordingAlert(Base):
    """Something about the evidence needs a person: a download given up, a file changed.

    One alert per recording and kind; it stays until somebody resolves it.
    """

    __tablename__ = "recording_alerts"
    __table_args__ = (UniqueConstraint("recording_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
