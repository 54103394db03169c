"""What people do to a complaint's deadlines: wait for the caller's material (pause and
resume), start an optional deadline or mark one met, ask for more time (延期), and appeal
(申诉) a complaint their unit is not responsible for.

Refusals of extensions and appeals are decisions too: they are written to the trail and
returned, and the caller of these functions answers with the reasons.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers import clocks, notify, trail, wording, workflow
from handlers.calendar import WorkingCalendar
from handlers.errors import Conflict, InvalidRequest, NotAllowed
from handlers.escalation import ClassificationError, start_optional
from handlers.extensions import AppealDecision, ExtensionDecision, review_appeal, review_extension
from handlers.models import Complaint, ComplaintClock
from handlers.policy import Policy, ResumeMode
from handlers.sla import ClockError
from handlers.trail import Action, Actor
from ivr.context import ivr_config
from staff.models import Role, Staff


def _open(complaint: Complaint, policy: Policy) -> None:
    if complaint.stage == policy.flow.archive:
        raise Conflict(f"complaint {complaint.number} is archived")


def _running(session: Session, complaint: Complaint, deadline_id: str) -> ComplaintClock:
    for row in clocks.running(session, complaint.id):
        if row.deadline == deadline_id:
            return row
    raise Conflict(f"no running deadline {deadline_id!r} on complaint {complaint.number}")


def pause(session: Session, complaint: Complaint, staff: Staff, *, reason: str, missing: str,
          now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
    """Stop the clocks while waiting for the caller's information; ask the caller for it."""
    _open(complaint, policy)
    if not reason.strip():
        raise InvalidRequest("say what is awaited (reason)")
    rows = clocks.running(session, complaint.id)
    try:
        paused = [(row, clocks.to_tracked(row).clock.pause(now, reason.strip())) for row in rows]
    except ClockError as exc:
        raise Conflict(f"the clocks cannot be paused now: {exc}") from None
    for row, clock in paused:
        clocks.store(row, clock)
    if missing.strip():
        complaint.missing_materials = missing.strip()
    clocks.refresh(session, complaint, policy, calendar, now)
    event = trail.record(session, complaint, Actor.of(staff), Action.PAUSED, now,
                         opinion=reason.strip(), missing=complaint.missing_materials,
                         deadlines=[row.deadline for row in rows])
    if missing.strip():
        notify.to_caller(session, complaint, event, kind="materials_requested", now=now,
                         body=wording.materials_requested(ivr_config().prompts,
                                                          number=complaint.number,
                                                          missing=missing.strip()))


def resume(session: Session, complaint: Complaint, staff: Staff, *, opinion: str,
           now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
    """The awaited material arrived: the clocks run again (or restart, per deadline)."""
    _open(complaint, policy)
    rows = [r for r in clocks.running(session, complaint.id) if clocks.to_tracked(r).clock.paused]
    if not rows:
        raise Conflict(f"complaint {complaint.number} is not waiting for anything")
    for row in rows:
        try:
            clock = clocks.to_tracked(row).clock.resume(
                now, restart=row.resume == ResumeMode.RESTART)
        except ClockError as exc:
            raise Conflict(f"the clocks cannot be resumed now: {exc}") from None
        clocks.store(row, clock)
    moved = clocks.refresh(session, complaint, policy, calendar, now)
    trail.record(session, complaint, Actor.of(staff), Action.RESUMED, now, opinion=opinion,
                 deadlines={key: new for key, (_old, new) in moved.items()})


def start_deadline(session: Session, complaint: Complaint, staff: Staff, *, deadline_id: str,
                   opinion: str, now: datetime, policy: Policy,
                   calendar: WorkingCalendar) -> ComplaintClock:
    """Start an optional deadline of the current stage (a site visit, a request for
    material...), from now."""
    _open(complaint, policy)
    if any(r.deadline == deadline_id for r in clocks.running(session, complaint.id)):
        raise Conflict(f"deadline {deadline_id!r} is already running")
    try:
        tracked = start_optional(policy, clocks.classification_of(complaint), complaint.stage,
                                 deadline_id, now)
    except ClassificationError as exc:
        raise InvalidRequest(str(exc)) from None
    (row,) = clocks.start(session, complaint, policy, [tracked])
    clocks.refresh(session, complaint, policy, calendar, now)
    trail.record(session, complaint, Actor.of(staff), Action.DEADLINE_STARTED, now,
                 opinion=opinion, deadline=deadline_id, due_at=row.due_at,
                 provisional=row.provisional)
    return row


def meet_deadline(session: Session, complaint: Complaint, actor: Actor, *, deadline_id: str,
                  opinion: str, now: datetime, policy: Policy,
                  calendar: WorkingCalendar) -> None:
    """Mark a running deadline met; deadlines that run from it start now."""
    row = _running(session, complaint, deadline_id)
    late = row.due_at is not None and now > row.due_at
    started = clocks.meet(session, complaint, policy, [row], now)
    clocks.refresh(session, complaint, policy, calendar, now)
    trail.record(session, complaint, actor, Action.DEADLINE_MET, now, opinion=opinion,
                 deadline=deadline_id, late=late,
                 started=[{"deadline": r.deadline, "due_at": r.due_at} for r in started])


def extend(session: Session, complaint: Complaint, staff: Staff, *, deadline_id: str,
           amount: float, reason: str, now: datetime, policy: Policy,
           calendar: WorkingCalendar) -> ExtensionDecision:
    """Ask for ``amount`` more of a deadline's own unit; granted within the policy's rules,
    before the deadline, with a reason, and the caller told."""
    _open(complaint, policy)
    row = _running(session, complaint, deadline_id)
    tracked = clocks.to_tracked(row)
    try:
        decision = review_extension(policy, tracked.clock, amount=amount, reason=reason, at=now,
                                    calendar=calendar)
    except ValueError as exc:
        raise InvalidRequest(f"amount: {exc}") from None
    actor = Actor.of(staff)
    if not decision.granted:
        trail.record(session, complaint, actor, Action.EXTENSION_REFUSED, now, opinion=reason,
                     deadline=deadline_id, amount=amount, problems=decision.problems)
        return decision
    before = row.due_at
    clocks.store(row, decision.clock)
    clocks.refresh(session, complaint, policy, calendar, now)
    event = trail.record(session, complaint, actor, Action.EXTENSION_GRANTED, now,
                         opinion=reason, deadline=deadline_id, amount=amount, unit=row.unit,
                         due_before=before, due_after=row.due_at)
    notify.to_roles(session, complaint, event, decision.notify, kind="extension", now=now,
                    text=f"投诉 {complaint.number} 的「{row.name}」已延期至 "
                         f"{wording.local_text(row.due_at, calendar.tz)}:{reason}")
    if notify.CALLER_ROLE in decision.notify:
        notify.to_caller(session, complaint, event, kind="extension", now=now,
                         body=wording.extension(ivr_config().prompts, number=complaint.number,
                                                due_at=row.due_at, reason=reason,
                                                zone=calendar.tz))
    return decision


def appeal(session: Session, complaint: Complaint, staff: Staff, *, reason: str, now: datetime,
           policy: Policy, calendar: WorkingCalendar) -> AppealDecision:
    """The holding unit says the complaint is not theirs; in time, it goes back."""
    _open(complaint, policy)
    if staff.role != complaint.role and staff.role != Role.SUPERVISOR:
        raise NotAllowed("only the unit holding the complaint can appeal it")
    if not reason.strip():
        raise InvalidRequest("say why your unit is not responsible (reason)")
    spell = workflow.current_spell(session, complaint.id)
    assigned_at = spell.started_at if spell else complaint.created_at
    decision = review_appeal(policy, assigned_at=assigned_at, appealed_at=now,
                             calendar=calendar)
    actor = Actor.of(staff)
    if not decision.accepted or decision.return_to is None:
        trail.record(session, complaint, actor, Action.APPEAL_REFUSED, now, opinion=reason,
                     assigned_at=assigned_at, window_ends=decision.window_ends.at)
        return decision
    before = complaint.role
    workflow.assign(session, complaint, decision.return_to, None, "appeal", now)
    event = trail.record(session, complaint, actor, Action.APPEAL_ACCEPTED, now, opinion=reason,
                         from_role=before, to_role=decision.return_to)
    notify.to_roles(session, complaint, event, [decision.return_to], kind="appeal", now=now,
                    text=f"投诉 {complaint.number} 被{policy.role_label(before)}申诉退回:{reason}")
    return decision
