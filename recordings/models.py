"""Recording records: the evidence of a call or a voicemail."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class RecordingKind(StrEnum):
    VOICEMAIL = "voicemail"
    CONVERSATION = "conversation"


class Recording(Base):
    """One recording made by Twilio, known from its first callback on."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    source_url: Mapped[str] = mapped_column(String(512), default="")
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    caller_number: Mapped[str] = mapped_column(String(32), default="", index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
