"""Detecting major complaints (重大投诉) and reporting them up the chain at once.

Run when a complaint is registered (its caller's earlier complaints are counted, so every
new complaint from the same number is judged) and when a seat changes its flags, demands
or classification. A reason already reported is not reported again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import clocks, notify, trail, wording, workflow
from handlers.calendar import WorkingCalendar
from handlers.major import EarlierComplaint, MajorAssessment, MajorReason, assess_major
from handlers.models import Complaint
from handlers.policy import Policy
from handlers.trail import Action, Actor


def _earlier(session: Session, complaint: Complaint) -> list[Complaint]:
    if not complaint.caller_number:
        return []
    return list(session.scalars(
        select(Complaint).where(Complaint.caller_number == complaint.caller_number,
                                Complaint.id != complaint.id)
    ))


def assess(session: Session, complaint: Complaint, actor: Actor, now: datetime,
           policy: Policy, calendar: WorkingCalendar) -> MajorAssessment:
    """Judge the complaint; report any new reason to the policy's roles in one event."""
    others = {c.number: c for c in _earlier(session, complaint)}
    assessment = assess_major(
        policy, clocks.classification_of(complaint), received_at=complaint.created_at, at=now,
        calendar=calendar,
        earlier=[EarlierComplaint(c.number, c.created_at) for c in others.values()],
        flags=complaint.flags, demands=complaint.demands,
    )
    known = {reason["trigger"] for reason in complaint.major_reasons}
    new = [r for r in assessment.reasons if r.trigger not in known]
    if not new:
        return assessment
    complaint.is_major = True
    complaint.major_reasons = [*complaint.major_reasons, *(_plain(r) for r in new)]
    report_by = assessment.report_by.at if assessment.report_by else None
    event = trail.record(
        session, complaint, actor, Action.MAJOR, now, reasons=[_plain(r) for r in new],
        notify_at_once=assessment.notify_at_once, report_to=assessment.report_to,
        report_by=report_by, convene=assessment.convene, provisional=assessment.provisional,
    )
    why = "、".join(r.reason for r in new)
    by = wording.local_text(report_by, calendar.tz)
    notify.to_roles(session, complaint, event,
                    [*assessment.notify_at_once, *assessment.report_to, *assessment.convene],
                    kind="major", now=now,
                    text=f"重大投诉 {complaint.number}:{why}。请于 {by} 前完成预警报备")
    for reason in new:
        for number in reason.related:
            _mark_related(session, others[number], complaint, reason, actor, now, policy)
    return assessment


def _mark_related(session: Session, earlier: Complaint, new: Complaint, reason: MajorReason,
                  actor: Actor, now: datetime, policy: Policy) -> None:
    """An earlier open complaint of the same caller is now part of a major (repeat) case."""
    if earlier.stage == policy.flow.archive:
        return
    earlier = workflow.lock(session, earlier.id)
    if not any(r["trigger"] == reason.trigger for r in earlier.major_reasons):
        earlier.is_major = True
        earlier.major_reasons = [*earlier.major_reasons,
                                 {"trigger": reason.trigger, "reason": reason.reason,
                                  "related": [new.number]}]
    event = trail.record(session, earlier, actor, Action.RELATED_REPEAT, now,
                         repeat_complaint=new.number, trigger=reason.trigger)
    notify.to_roles(session, earlier, event, [earlier.role], kind="major", now=now,
                    text=f"投诉人再次投诉({new.number}),投诉 {earlier.number} 按重大投诉处理")


def _plain(reason: MajorReason) -> dict[str, object]:
    return {"trigger": reason.trigger, "reason": reason.reason, "related": list(reason.related)}
