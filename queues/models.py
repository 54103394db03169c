"""Persistent side of the hold queues and seats: the durable truth the Redis index mirrors.

Every change the routing index makes is written here too (see :mod:`queues.mirror`), each
row carrying the index's sequence number of the last change applied to it, so that the
index can be rebuilt from these tables after Redis lost it, with no caller forgotten.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class WaitStatus(StrEnum):
    """Where a queued call is. The first three are live; the others are final."""

    WAITING = "waiting"  # on hold
    OFFERED = "offered"  # redirected to ring a seat
    CONNECTED = "connected"  # talking to a seat
    COMPLETED = "completed"  # talked to a seat, and the conversation ended
    ABANDONED = "abandoned"  # hung up before a seat answered
    OVERFLOWED = "overflowed"  # left the queue for voicemail or a call-back, or it failed


LIVE_WAIT_STATUSES = (WaitStatus.WAITING, WaitStatus.OFFERED, WaitStatus.CONNECTED)


class OverflowChoice(StrEnum):
    """What a caller who waited too long chose instead of waiting longer."""

    VOICEMAIL = "voicemail"
    CALLBACK = "callback"


class QueuedCall(Base):
    """A call that entered a skill's hold queue, and what became of it.

    ``entered_at`` orders the queue; ``waited_seconds`` is the wait until a seat answered or
    the caller left; ``handle_seconds`` the conversation. ``offer_seq`` is the index's
    number of the offer in flight (0 when none), ``missed_offers`` how many seats let it
    ring out. ``index_seq`` is the sequence number of the last index change written here.
    """

    __tablename__ = "queued_calls"
    __table_args__ = (Index("ix_queued_calls_skill_left_at", "skill", "left_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    caller_number: Mapped[str] = mapped_column(String(32), index=True)
    skill: Mapped[str] = mapped_column(String(32), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=WaitStatus.WAITING, index=True)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seat_id: Mapped[str | None] = mapped_column(String(64))
    offer_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waited_seconds: Mapped[int | None] = mapped_column(Integer)
    handle_seconds: Mapped[int | None] = mapped_column(Integer)
    missed_offers: Mapped[int] = mapped_column(Integer, default=0)
    overflow_choice: Mapped[str] = mapped_column(String(16), default="")
    index_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Seat(Base):
    """A seat (坐席): who answers, how to reach them, their skills, their state.

    ``reach`` is ``client:<identity>`` (browser softphone), ``number:<+E.164>`` or
    ``sip:<address>``; ``skills`` maps skill to level (1-9). ``idle_since`` ranks available
    seats (longest idle first); ``wrap_up_seconds`` overrides the queue's wrap-up when set.
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
    idle_since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    current_call_sid: Mapped[str | None] = mapped_column(String(64))
    wrap_up_seconds: Mapped[int | None] = mapped_column(Integer)
    wrap_up_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    index_seq: Mapped[int] = mapped_column(BigInteger, default=0)
