"""Who may read a complaint and who may act on it (details stay with those who need them).

Readers: supervisors; the first seat who took it or was given it by name (a first seat
does not see every other seat's complaints); and every other role on the complaint's chain:
its current and past holders, the roles told of it, the role giving the final answer, and
the chain roles from its lowest holder up to its ceiling. Acting (moving it on, escalating,
asking for time) is for its holder and the chain roles above, and for supervisors.
Every read through the API is written to the trail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handlers import clocks, notify, trail, workflow
from handlers.context import complaint_policy
from handlers.errors import NotAllowed, NotFound
from handlers.escalation import reader_roles
from handlers.models import Complaint, ComplaintAssignment, ComplaintNotification
from handlers.policy import Policy
from handlers.trail import Action, Actor
from staff.models import Role, Staff


def _spells(session: Session, complaint_id: int) -> list[ComplaintAssignment]:
    return list(session.scalars(
        select(ComplaintAssignment).where(ComplaintAssignment.complaint_id == complaint_id)
    ))


def _named(session: Session, staff: Staff, complaint: Complaint) -> bool:
    """The person took the complaint or holds (or held) it by name."""
    return staff.id in (complaint.accepted_by, complaint.assignee_id) or any(
        spell.staff_id == staff.id for spell in _spells(session, complaint.id))


def can_read(session: Session, staff: Staff, complaint: Complaint) -> bool:
    """Whether ``staff`` may see the complaint (and its recordings)."""
    if not staff.active:
        return False
    if staff.role == Role.SUPERVISOR:
        return True
    policy = complaint_policy()
    if staff.role == policy.chain[0]:
        return _named(session, staff, complaint)
    notified = session.scalars(
        select(ComplaintNotification.recipient_role)
        .where(ComplaintNotification.complaint_id == complaint.id)
    )
    roles = reader_roles(policy, clocks.classification_of(complaint),
                         [spell.role for spell in _spells(session, complaint.id)], notified)
    return staff.role in roles


def may_act(session: Session, staff: Staff, complaint: Complaint, policy: Policy) -> bool:
    """Whether ``staff`` may change the complaint: its holder, a role above it, a supervisor."""
    if staff.role == Role.SUPERVISOR:
        return staff.active
    if not can_read(session, staff, complaint):
        return False
    if staff.role == complaint.role:
        return complaint.assignee_id in (None, staff.id) or staff.role != policy.chain[0]
    chain = policy.chain
    return (staff.role in chain and complaint.role in chain
            and chain.index(staff.role) > chain.index(complaint.role))


def readable(session: Session, staff: Staff, number: str, now: datetime) -> Complaint:
    """The complaint ``number`` if ``staff`` may read it, the read written to the trail.

    A complaint the person may not see answers like one that does not exist.
    """
    complaint = workflow.by_number(session, number)
    if complaint is None or not can_read(session, staff, complaint):
        raise NotFound(f"no complaint {number} that you can see")
    trail.record(session, complaint, Actor.of(staff), Action.VIEWED, now)
    return complaint


def actionable(session: Session, staff: Staff, number: str, policy: Policy) -> Complaint:
    """The complaint ``number`` if ``staff`` may change it (its lock is taken by the caller)."""
    complaint = workflow.by_number(session, number)
    if complaint is None or not can_read(session, staff, complaint):
        raise NotFound(f"no complaint {number} that you can see")
    if not may_act(session, staff, complaint, policy):
        raise NotAllowed(f"complaint {number} is held by {policy.role_label(complaint.role)}; "
                         "only its holder, the roles above it and supervisors can change it")
    return complaint


def worklist(session: Session, staff: Staff, *, stage: str | None, limit: int,
             before_id: int | None, now: datetime) -> list[Complaint]:
    """The complaints a person works on: held, once held or told of (supervisors: all),
    newest first; each listing is a read, written to the complaint's trail."""
    query = select(Complaint).order_by(Complaint.id.desc()).limit(limit)
    if stage:
        query = query.where(Complaint.stage == stage)
    if before_id:
        query = query.where(Complaint.id < before_id)
    if staff.role != Role.SUPERVISOR:
        held = select(ComplaintAssignment.complaint_id).where(
            or_(ComplaintAssignment.role == staff.role,
                ComplaintAssignment.staff_id == staff.id))
        told = select(ComplaintNotification.complaint_id).where(
            ComplaintNotification.recipient_role == staff.role)
        query = query.where(or_(Complaint.id.in_(held), Complaint.id.in_(told),
                                Complaint.accepted_by == staff.id))
    found = [c for c in session.scalars(query) if can_read(session, staff, c)]
    for complaint in found:
        trail.record(session, complaint, Actor.of(staff), Action.VIEWED, now, via="list")
    return found


def inbox(session: Session, staff: Staff,
          limit: int = 100) -> list[tuple[ComplaintNotification, str]]:
    """The person's role's notifications, newest first, with complaint numbers; only for
    complaints the person may read (a first seat sees those of their own complaints)."""
    rows = notify.inbox(session, staff.role, limit)
    complaints = {c.id: c for c in session.scalars(
        select(Complaint).where(Complaint.id.in_({r.complaint_id for r in rows})))}
    readable = {cid: can_read(session, staff, c) for cid, c in complaints.items()}
    return [(r, complaints[r.complaint_id].number) for r in rows if readable[r.complaint_id]]
