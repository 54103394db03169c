"""Persistent records of the IVR: calls, the path each took, call-back tasks, status lookups."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, utcnow


class CallStatus(StrEnum):
    """Twilio's call statuses, as its status callback reports them."""

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_CALL_STATUSES


FINAL_CALL_STATUSES = frozenset(
    {CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED,
     CallStatus.CANCELED}
)


class Call(Base):
    """One phone call, inbound or outbound, from its first webhook to its status callback."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(32), index=True, default="")
    to_number: Mapped[str] = mapped_column(String(32), default="")
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    status: Mapped[str] = mapped_column(String(16), default=CallStatus.IN_PROGRESS)
    after_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32), default="")

    steps: Mapped[list[CallStep]] = relationship(
        back_populates="call", order_by="[CallStep.at, CallStep.id]", cascade="all, delete-orphan"
    )


class CallStep(Base):
    """One webhook-visible step of a call's path: a menu node, what the caller did, the result.

    ``request_key`` makes Twilio's retries of the same webhook record nothing twice.
    """

    __tablename__ = "call_steps"
    __table_args__ = (UniqueConstraint("call_sid", "request_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Looked up by the unique (call_sid, request_key) index: its leading column serves a
    # call's path, and a second index would cost every shipped step another insertion.
    call_sid: Mapped[str] = mapped_column(ForeignKey("calls.call_sid", ondelete="CASCADE"))
    request_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    node: Mapped[str] = mapped_column(String(32))
    caller_input: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(64), default="")

    call: Mapped[Call] = relationship(back_populates="steps")


class CallbackStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class CallbackTask(Base):
    """A promise to call a caller back: from a voicemail, an overflow, or a failed survey call."""

    __tablename__ = "callback_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    caller_number: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    menu_path: Mapped[str] = mapped_column(Text, default="")
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    has_message: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=CallbackStatus.OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StatusLookup(Base):
    """One attempt by a caller to hear a complaint's status: kept for audit and lockout."""

    __tablename__ = "status_lookups"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    caller_number: Mapped[str] = mapped_column(String(32), index=True)
    method: Mapped[str] = mapped_column(String(16))
    complaint_number: Mapped[str] = mapped_column(String(32), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
