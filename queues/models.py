"""Persistent side of the hold queues: the durable record of every call that waits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class WaitStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTED = "connected"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"


class QueuedCall(Base):
    """A call that entered a skill's hold queue. Redis indexes these; this table is the truth."""

    __tablename__ = "queued_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    caller_number: Mapped[str] = mapped_column(String(32), index=True)
    skill: Mapped[str] = mapped_column(String(32), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=WaitStatus.WAITING, index=True)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seat_id: Mapped[str | None] = mapped_column(String(64))
