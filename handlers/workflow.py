"""Moving a complaint through its stages and between holders.

Each step is taken by a named actor (a person in a role, the service, or the caller at a
call-back), written to the trail with its opinion, and followed by the clocks: leaving a
stage meets its deadlines, entering one starts its own, archiving stops them all. Reaching
the stage before the call-back (反馈) with a result schedules the survey call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.numbers import is_ascii_number
from handlers import clocks, notify, survey_attempts, trail
from handlers.calendar import WorkingCalendar
from handlers.context import repeat_callers
from handlers.errors import Conflict, InvalidRequest, NotFound
from handlers.escalation import (
    CallbackDecision,
    ComplaintState,
    after_callback,
    clocks_for,
    escalation_target,
    resolve_routing,
)
from handlers.models import Complaint, ComplaintAssignment
from handlers.policy import MetOn, Policy
from handlers.trail import Action, Actor
from staff.models import Staff


def lock(session: Session, complaint_id: int) -> Complaint:
    """The complaint, locked for this unit of work: concurrent changes wait their turn.

    The UPDATE takes PostgreSQL's row lock and SQLite's write lock before anything is read,
    so what is read next is what the change is based on.
    """
    bumped = session.execute(
        update(Complaint).where(Complaint.id == complaint_id)
        .values(revision=Complaint.revision + 1)
    ).rowcount  # type: ignore[attr-defined]
    complaint = session.get(Complaint, complaint_id, populate_existing=True) if bumped else None
    if complaint is None:
        raise NotFound(f"no complaint {complaint_id}")
    return complaint


def by_number(session: Session, number: str) -> Complaint | None:
    if not is_ascii_number(number) or len(number) > 16:
        return None
    return session.scalar(select(Complaint).where(Complaint.number == number))


def current_spell(session: Session, complaint_id: int) -> ComplaintAssignment | None:
    return session.scalar(
        select(ComplaintAssignment)
        .where(ComplaintAssignment.complaint_id == complaint_id,
               ComplaintAssignment.ended_at.is_(None))
        .order_by(ComplaintAssignment.id.desc()).limit(1)
    )


def _end_spell(session: Session, complaint: Complaint, now: datetime) -> None:
    session.execute(
        update(ComplaintAssignment)
        .where(ComplaintAssignment.complaint_id == complaint.id,
               ComplaintAssignment.ended_at.is_(None))
        .values(ended_at=now)
    )


def assign(session: Session, complaint: Complaint, role: str, staff_id: str | None,
           reason: str, now: datetime) -> None:
    """Give the complaint to ``role`` (and the named person): a new spell of holding it."""
    _end_spell(session, complaint, now)
    session.add(ComplaintAssignment(complaint_id=complaint.id, role=role, staff_id=staff_id,
                                    reason=reason, started_at=now))
    complaint.role, complaint.assignee_id = role, staff_id
    session.flush()


def feedback_stage(policy: Policy) -> str | None:
    """The stage whose result the call-back asks about: the one leading into it."""
    return next((s.id for s in policy.stages.values() if s.next == policy.flow.callback), None)


def enter_stage(session: Session, complaint: Complaint, stage: str, *, actor: Actor,
                now: datetime, policy: Policy, calendar: WorkingCalendar,
                opinion: str = "") -> None:
    """Leave the current stage (its deadlines are met) and enter ``stage``."""
    previous = complaint.stage
    complaint.stage = stage
    if previous == policy.flow.archive and stage != previous:
        repeat_callers().number_added(session, complaint.caller_number)
    running = clocks.running(session, complaint.id)
    clocks.meet(session, complaint, policy,
                [r for r in running if r.stage == previous and r.met_on == MetOn.STAGE_END], now)
    started = []
    if stage == policy.flow.archive:
        clocks.close(clocks.running(session, complaint.id), now)
        complaint.closed_at = now
        _end_spell(session, complaint, now)
    else:
        complaint.closed_at = None
        tracked = clocks_for(policy, clocks.classification_of(complaint), stage, "stage_start",
                             now)
        started = clocks.start(session, complaint, policy, tracked)
    clocks.refresh(session, complaint, policy, calendar, now)
    trail.record(
        session, complaint, actor, Action.STAGE_CHANGED, now, opinion=opinion,
        from_stage=previous, to_stage=stage,
        deadlines=[{"deadline": r.deadline, "name": r.name, "due_at": r.due_at,
                    "provisional": r.provisional} for r in started],
    )
    if stage == policy.flow.archive:
        trail.record(session, complaint, actor, Action.ARCHIVED, now)
    elif stage == feedback_stage(policy):
        survey_attempts.schedule(session, complaint, policy, calendar, now)


def _opinion(opinion: str) -> str:
    if not opinion.strip():
        raise InvalidRequest("write your opinion (opinion): every step is signed with one")
    return opinion.strip()


def _open(complaint: Complaint, policy: Policy) -> None:
    if complaint.stage == policy.flow.archive:
        raise Conflict(f"complaint {complaint.number} is archived")


def advance(session: Session, complaint: Complaint, staff: Staff, *, opinion: str,
            result: str, now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
    """Move to the next stage, signed with the person's opinion (and the result, when the
    next stage tells it to the caller)."""
    _open(complaint, policy)
    opinion = _opinion(opinion)
    target = policy.stages[complaint.stage].next
    if target is None or target == policy.flow.callback:
        raise Conflict("the call-back records its own outcome: the survey call, or a seat's "
                       "POST .../callback-result")
    if target == feedback_stage(policy) and not (result.strip() or complaint.result):
        raise InvalidRequest("the result (result) is required: the caller is told it next")
    if result.strip() and result.strip() != complaint.result:
        trail.record(session, complaint, Actor.of(staff), Action.UPDATED, now,
                     changes={"result": [complaint.result, result.strip()]})
        complaint.result = result.strip()
    enter_stage(session, complaint, target, actor=Actor.of(staff), now=now, policy=policy,
                calendar=calendar, opinion=opinion)


def escalate(session: Session, complaint: Complaint, staff: Staff, *, opinion: str,
             now: datetime, policy: Policy) -> None:
    """One step up the chain by a person's decision (never past the complaint's ceiling)."""
    _open(complaint, policy)
    opinion = _opinion(opinion)
    target = escalation_target(policy, clocks.classification_of(complaint), complaint.role)
    if target is None:
        raise Conflict(f"{policy.role_label(complaint.role)} is as high as this complaint goes")
    before = complaint.role
    assign(session, complaint, target, None, "escalation", now)
    event = trail.record(session, complaint, Actor.of(staff), Action.ESCALATED, now,
                         opinion=opinion, from_role=before, to_role=target)
    notify.to_roles(session, complaint, event, [target], kind="escalated", now=now,
                    text=f"投诉 {complaint.number} 由 {staff.name} 升级至"
                         f"{policy.role_label(target)}:{opinion}")


def reassign(session: Session, complaint: Complaint, staff: Staff, *, role: str,
             staff_id: str | None, opinion: str, now: datetime, policy: Policy) -> None:
    """Give the complaint to another role (and person), e.g. the department responsible."""
    _open(complaint, policy)
    opinion = _opinion(opinion)
    if role not in policy.roles or role == notify.CALLER_ROLE:
        raise InvalidRequest(f"role must be one of the policy's roles, not {role!r}",
                             roles=[r for r in policy.roles if r != notify.CALLER_ROLE])
    if staff_id is not None:
        person = session.get(Staff, staff_id)
        if person is None or not person.active or person.role != role:
            raise InvalidRequest(f"staff_id {staff_id!r} is not an active {role}")
    before = (complaint.role, complaint.assignee_id)
    assign(session, complaint, role, staff_id, "reassigned", now)
    event = trail.record(session, complaint, Actor.of(staff), Action.REASSIGNED, now,
                         opinion=opinion, from_role=before[0], from_staff=before[1],
                         to_role=role, to_staff=staff_id)
    notify.to_roles(session, complaint, event, [role], kind="reassigned", now=now,
                    text=f"投诉 {complaint.number} 已转交{policy.role_label(role)}:{opinion}")


def add_opinion(session: Session, complaint: Complaint, staff: Staff, *, opinion: str,
                now: datetime) -> None:
    trail.record(session, complaint, Actor.of(staff), Action.OPINION, now,
                 opinion=_opinion(opinion))


def apply_callback_result(session: Session, complaint: Complaint, actor: Actor, *,
                          rating: int | None, solved: bool | None, now: datetime,
                          policy: Policy, calendar: WorkingCalendar,
                          opinion: str = "") -> CallbackDecision:
    """The caller's verdict on the result: satisfied goes on to the archive; unsatisfied
    reopens the complaint one step higher up the chain (until the reopen limit)."""
    _open(complaint, policy)
    if complaint.stage == feedback_stage(policy):
        enter_stage(session, complaint, policy.flow.callback, actor=actor, now=now,
                    policy=policy, calendar=calendar)
    if complaint.stage != policy.flow.callback:
        raise Conflict(f"complaint {complaint.number} is not waiting for a call-back")
    state = ComplaintState(complaint.stage, complaint.role, reopen_count=complaint.reopen_count)
    try:
        decision = after_callback(policy, clocks.classification_of(complaint), state,
                                  rating=rating, solved=solved)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    survey_attempts.cancel_open(session, complaint, now)
    event = trail.record(session, complaint, actor, Action.CALLBACK_RATED, now, opinion=opinion,
                         rating=rating, solved=solved, satisfied=decision.satisfied,
                         reopen_limit_reached=decision.reopen_limit_reached)
    before = complaint.role
    if decision.escalate_to:
        assign(session, complaint, decision.escalate_to, None, "callback", now)
        trail.record(session, complaint, actor, Action.ESCALATED, now, from_role=before,
                     to_role=decision.escalate_to, reason="unsatisfied call-back")
    if decision.notify:
        verdict = f"评分 {rating}" if rating is not None else "未解决"
        notify.to_roles(session, complaint, event, decision.notify, kind="unsatisfied", now=now,
                        text=f"投诉 {complaint.number} 回访不满意({verdict}),"
                             f"现由{policy.role_label(complaint.role)}处理")
    if decision.review_staff:
        staff_review(session, complaint, actor, now, policy)
    if decision.reopen:
        # The next result is a new one: the caller is not told the rejected one again.
        complaint.reopen_count += 1
        trail.record(session, complaint, actor, Action.REOPENED, now,
                     reopen_count=complaint.reopen_count, rejected_result=complaint.result)
        complaint.result = ""
    enter_stage(session, complaint, decision.next_stage, actor=actor, now=now, policy=policy,
                calendar=calendar)
    return decision


def staff_review(session: Session, complaint: Complaint, actor: Actor, now: datetime,
                  policy: Policy) -> None:
    """Ask the role giving the final answer to re-judge the case and any staff at fault."""
    final = resolve_routing(policy, clocks.classification_of(complaint)).final_answer
    event = trail.record(session, complaint, actor, Action.STAFF_REVIEW, now, review_by=final,
                         employee_id=complaint.target_employee_id)
    notify.to_roles(session, complaint, event, [final], kind="staff_review", now=now,
                    text=f"投诉 {complaint.number} 需重新判定责任,"
                         "如有责任人员请按规定处理")
