"""The trail (全程留痕): every read and every change of a complaint, by whom, in which role.

Lines are only ever added (``handlers.models`` refuses updates and deletes); each carries the
actor, the time, the stage the complaint was in, the actor's opinion and what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.models import Complaint, ComplaintEvent
from staff.models import Staff


class Action(StrEnum):
    CREATED = "created"
    VIEWED = "viewed"
    UPDATED = "updated"
    OPINION = "opinion"
    STAGE_CHANGED = "stage_changed"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    REASSIGNED = "reassigned"
    BREACH = "breach"
    STAFF_REVIEW = "staff_review"
    MAJOR = "major"
    RELATED_REPEAT = "related_repeat"
    DEADLINE_STARTED = "deadline_started"
    DEADLINE_MET = "deadline_met"
    DEADLINES_RECOMPUTED = "deadlines_recomputed"
    PAUSED = "paused"
    RESUMED = "resumed"
    EXTENSION_GRANTED = "extension_granted"
    EXTENSION_REFUSED = "extension_refused"
    APPEAL_ACCEPTED = "appeal_accepted"
    APPEAL_REFUSED = "appeal_refused"
    EVIDENCE_ADDED = "evidence_added"
    RECORDINGS_LINKED = "recordings_linked"
    ANNOUNCED = "announced"
    PIN_REISSUED = "pin_reissued"
    ACKNOWLEDGED = "acknowledged"
    NOTIFICATION_FAILED = "notification_failed"
    CALLBACK_SCHEDULED = "callback_scheduled"
    CALLBACK_PLACED = "callback_placed"
    CALLBACK_ANSWERED = "callback_answered"
    CALLBACK_RATED = "callback_rated"
    CALLBACK_UNREACHED = "callback_unreached"
    CALLBACK_TO_SEAT = "callback_to_seat"
    REOPENED = "reopened"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (``staff``), the service itself (``system``) or the ``caller``."""

    kind: str
    id: str
    name: str = ""
    role: str = ""

    @classmethod
    def of(cls, staff: Staff) -> Actor:
        return cls("staff", staff.id, staff.name, staff.role)

    @classmethod
    def caller(cls, number: str) -> Actor:
        return cls("caller", number or "unknown", "投诉人", "caller")

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls("system", job, "系统", "system")


def record(session: Session, complaint: Complaint, actor: Actor, action: Action,
           now: datetime, *, opinion: str = "", stage: str | None = None,
           **details: Any) -> ComplaintEvent:
    """Append one line to the complaint's trail (flushed, so its id can be referred to)."""
    event = ComplaintEvent(
        complaint_id=complaint.id, at=now, actor_kind=actor.kind, actor_id=actor.id[:64],
        actor_name=actor.name[:64], actor_role=actor.role[:32], action=action,
        stage=stage or complaint.stage, opinion=opinion, details=_plain(details),
    )
    session.add(event)
    session.flush()
    return event


def trail(session: Session, complaint_id: int) -> list[ComplaintEvent]:
    return list(session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.id)
    ))


def _plain(value: Any) -> Any:
    """``details`` as JSON values: datetimes become ISO text, tuples lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value
