"""Complaint records (投诉受理单) and everything kept about their handling.

``Complaint`` is the form itself plus where it stands. Around it: the append-only trail
(``ComplaintEvent``, 全程留痕), who held it when (``ComplaintAssignment``), its SLA clocks and
the breaches already acted on (a UNIQUE key per breach makes acting exactly-once), evidence,
the notification outbox, call-back survey attempts, the operator's calendar entries and the
daily counter that numbers complaints.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class Stage(StrEnum):
    """The stage ids of the default policy (a policy file may name its own)."""

    ACCEPT = "accept"  # 受理
    VERIFY = "verify"  # 核实
    HANDLE = "handle"  # 处理
    FEEDBACK = "feedback"  # 反馈
    CALLBACK = "callback"  # 回访
    REOPEN = "reopen"  # 重新处理
    ARCHIVE = "archive"  # 归档


class Complaint(Base):
    """One complaint: the acceptance form's fields, its classification, and where it stands.

    ``number`` (digits only, keyable on a phone) and ``query_pin_hash`` are what a caller
    uses to hear its status; ``role``/``assignee_id`` is its current holder; ``revision``
    grows with every change and is also the row lock taken before changing it.
    """

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    query_pin_hash: Mapped[str] = mapped_column(String(128))
    caller_number: Mapped[str] = mapped_column(String(32), index=True)
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_number: Mapped[str] = mapped_column(String(32), default="")
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    subject: Mapped[str] = mapped_column(String(128), default="")
    target_product: Mapped[str] = mapped_column(String(128), default="")
    target_branch: Mapped[str] = mapped_column(String(128), default="")
    target_employee_id: Mapped[str] = mapped_column(String(32), default="")
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    occurred_place: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    demands: Mapped[list[str]] = mapped_column(JSON, default=list)
    demand_text: Mapped[str] = mapped_column(Text, default="")
    missing_materials: Mapped[str] = mapped_column(Text, default="")
    complaint_class: Mapped[str] = mapped_column(String(16), default="")
    level: Mapped[str] = mapped_column(String(16), default="")
    urgency: Mapped[str] = mapped_column(String(16), default="")
    severity: Mapped[str] = mapped_column(String(16), default="")
    complex: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    menu_path: Mapped[str] = mapped_column(Text, default="")
    accepted_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    stage: Mapped[str] = mapped_column(String(16), default=Stage.ACCEPT)
    role: Mapped[str] = mapped_column(String(32), default="", index=True)
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"), index=True)
    is_major: Mapped[bool] = mapped_column(Boolean, default=False)
    major_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    expected_completion_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str] = mapped_column(Text, default="")
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


COMPLAINT_IS_OPEN = Complaint.stage != Stage.ARCHIVE
"""A complaint still being handled (any stage before the archive): what a repeat caller is
told about, and what raises a caller's place in the queue."""


class ComplaintEvent(Base):
    """One line of the trail: who (person, system or caller, in which role) did or saw what,
    when, at which stage, with their opinion. Rows are never changed or deleted."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    actor_role: Mapped[str] = mapped_column(String(32), default="")
    action: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16))
    opinion: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ComplaintAssignment(Base):
    """A spell of one holder (a role, and the named person if any) holding a complaint."""

    __tablename__ = "complaint_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClockStatus(StrEnum):
    RUNNING = "running"
    MET = "met"
    CLOSED = "closed"  # the complaint was archived or reopened before it was met


class ComplaintClock(Base):
    """One SLA deadline of a complaint, stored so that ``handlers.sla.SlaClock`` can be rebuilt.

    ``due_at`` (None while a timely pause stops it), ``provisional`` and ``next_breach_at``
    (the next breach not yet acted on) are derived and refreshed after every change; the
    deadline scan only reads ``next_breach_at``.
    """

    __tablename__ = "complaint_clocks"
    __table_args__ = (Index("ix_complaint_clocks_due", "status", "next_breach_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    on_breach: Mapped[str] = mapped_column(String(32))
    resume: Mapped[str] = mapped_column(String(16))
    met_on: Mapped[str] = mapped_column(String(16))
    amount: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(24))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pauses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    extensions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=ClockStatus.RUNNING)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    next_breach_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ComplaintBreach(Base):
    """A breach that has been acted on. The UNIQUE key is inserted in the same transaction as
    the escalation it causes, so a second worker racing for it gets a conflict and does
    nothing, and a worker that dies before committing leaves it for the next scan."""

    __tablename__ = "complaint_breaches"
    __table_args__ = (UniqueConstraint("complaint_id", "breach_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    clock_id: Mapped[int] = mapped_column(ForeignKey("complaint_clocks.id"), index=True)
    breach_key: Mapped[str] = mapped_column(String(160))
    n: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    role_before: Mapped[str] = mapped_column(String(32))
    role_after: Mapped[str] = mapped_column(String(32))
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ComplaintEvidence(Base):
    """An attachment given as evidence (photos, receipts...); recordings are linked through
    ``recordings.complaint_id`` and the complaint's calls instead."""

    __tablename__ = "complaint_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str] = mapped_column(String(64), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NotificationStatus(StrEnum):
    PENDING = "pending"  # an SMS waiting for the sending job
    SENDING = "sending"  # claimed by a job
    SENT = "sent"  # accepted by the SMS provider
    FAILED = "failed"  # the last try failed; tried again
    DEAD = "dead"  # given up after the last try
    STORED = "stored"  # a staff inbox entry: delivered by being written


class ComplaintNotification(Base):
    """The outbox: one message for one recipient role (SMS to the caller, inbox for staff).

    Written in the same transaction as the event that causes it, at most once per event and
    recipient; SMS rows are sent afterwards by a job that claims them.
    """

    __tablename__ = "complaint_notifications"
    __table_args__ = (UniqueConstraint("event_id", "recipient_role", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("complaint_events.id"))
    kind: Mapped[str] = mapped_column(String(32))
    recipient_role: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    to_number: Mapped[str] = mapped_column(String(32), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(256), default="")
    provider_sid: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CallbackStatus(StrEnum):
    SCHEDULED = "scheduled"
    CALLING = "calling"  # the call was asked of Twilio
    ANSWERED = "answered"  # the caller picked up and heard the result
    RATED = "rated"
    UNREACHED = "unreached"  # no answer, busy, failed, or hung up without rating
    CANCELLED = "cancelled"  # the complaint moved on (a seat recorded the result)


class ComplaintCallback(Base):
    """One call-back survey attempt: the ``attempt``th call of feedback round ``round``."""

    __tablename__ = "complaint_callbacks"
    __table_args__ = (UniqueConstraint("complaint_id", "round", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    to_number: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    call_status: Mapped[str] = mapped_column(String(16), default="")
    rating: Mapped[int | None] = mapped_column(Integer)
    solved: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(32), default="")


class CalendarDay(Base):
    """A day the operator entered for a year's schedule: holiday, or (make-up) workday."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))


class CalendarYear(Base):
    """A year whose full schedule the operator entered: its other dates follow Mon-Fri."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(256), default="")


class ComplaintNumberCounter(Base):
    """The last sequence number given out on one local day (``yyMMdd``)."""

    __tablename__ = "complaint_number_counters"

    day: Mapped[str] = mapped_column(String(6), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class TrailError(RuntimeError):
    """Something tried to change or delete a line of a complaint's trail."""


@event.listens_for(ComplaintEvent, "before_update")
@event.listens_for(ComplaintEvent, "before_delete")
def _trail_is_append_only(_mapper: Mapper[Any], _connection: Any, target: ComplaintEvent) -> None:
    raise TrailError(f"complaint trail entry {target.id} cannot be changed or deleted")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_trail_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        if state.bind_mapper.class_ is ComplaintEvent:
            raise TrailError("the complaint trail is append-only")
