"""Evidence of a complaint: attachments, and the recordings of its calls.

Recordings belong to the ``recordings`` package: a call attached to a complaint makes its
recordings, present and future, evidence of it (``recordings.links``). The complaint call
is attached when the complaint is registered, each survey call when it is placed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import trail
from handlers.models import Complaint, ComplaintEvidence
from handlers.trail import Action, Actor
from recordings import links


def attach_call(session: Session, complaint: Complaint, call_sid: str, actor: Actor,
                now: datetime) -> None:
    """Make the call's recordings evidence of the complaint, and say so on its trail.

    A call already evidence of another complaint stays with it (evidence never moves); the
    trail says which.
    """
    by = actor.id if actor.kind == "staff" else None
    try:
        count = links.attach_call_to_complaint(session, call_sid, complaint.id, by, now)
    except links.AlreadyAttached as exc:
        other = session.get(Complaint, exc.complaint_id)
        trail.record(session, complaint, actor, Action.RECORDINGS_LINKED, now,
                     call_sid=call_sid, count=0,
                     kept_by=other.number if other else exc.complaint_id)
        return
    trail.record(session, complaint, actor, Action.RECORDINGS_LINKED, now, call_sid=call_sid,
                 count=count)


def recordings(session: Session, complaint: Complaint) -> list[dict[str, Any]]:
    """The complaint's recordings with their hashes and integrity, oldest first."""
    return links.evidence_list(session, complaint.id)


def attachments(session: Session, complaint_id: int) -> list[ComplaintEvidence]:
    return list(session.scalars(
        select(ComplaintEvidence).where(ComplaintEvidence.complaint_id == complaint_id)
        .order_by(ComplaintEvidence.id)
    ))


def add(session: Session, complaint: Complaint, actor: Actor, item: dict[str, str],
        now: datetime) -> ComplaintEvidence:
    row = ComplaintEvidence(complaint_id=complaint.id, name=item["name"].strip(),
                            url=item["url"], content_type=item.get("content_type", ""),
                            sha256=item.get("sha256", ""), added_by=actor.id, added_at=now)
    session.add(row)
    session.flush()
    trail.record(session, complaint, actor, Action.EVIDENCE_ADDED, now, evidence_id=row.id,
                 name=row.name, url=row.url, sha256=row.sha256)
    return row
