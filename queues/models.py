"""Persistent side of the hold queues: the durable record of every call that waits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, String
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


class Seat(Base):
    """A seat (坐席): who answers, how to reach them, their skills, their state.

    The state here is the durable truth; the Redis routing index mirrors it and is rebuilt
    from this table after Redis restarts.
    """

    __tablename__ = "seats"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    reach: Mapped[str] = mapped_column(String(128))
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="offline")
    state_since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    current_call_sid: Mapped[str | None] = mapped_column(String(64))
    wrap_up_seconds: Mapped[int] = mapped_column(Integer, default=30)
