"""Acting on missed deadlines, exactly once per breach.

The periodic scan finds complaints with a breach due (``complaint_clocks.next_breach_at``),
then handles each complaint in its own transaction: lock the complaint, ask the pure
``due_breaches`` what is due and not yet handled, and for each breach insert its UNIQUE key
and carry out its escalation, trail entries and notifications in the same transaction. A
second worker racing for the same breach blocks on the lock, then sees the key and does
nothing; a worker that dies before committing leaves everything for the next scan.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.db import Database, insert_ignoring_conflict
from handlers import clocks, notify, trail, workflow
from handlers.calendar import WorkingCalendar
from handlers.calendar_store import load_calendar
from handlers.escalation import BreachDecision, ComplaintState, due_breaches
from handlers.models import ClockStatus, Complaint, ComplaintBreach, ComplaintClock
from handlers.policy import Policy
from handlers.trail import Action, Actor

log = logging.getLogger(__name__)

SYSTEM = Actor.system("sla-check")


def complaints_due(session: Session, now: datetime, limit: int = 1000) -> list[int]:
    """Complaints with at least one breach due and not yet acted on."""
    return list(session.scalars(
        select(ComplaintClock.complaint_id)
        .where(ComplaintClock.status == ClockStatus.RUNNING,
               ComplaintClock.next_breach_at <= now)
        .group_by(ComplaintClock.complaint_id)
        .order_by(ComplaintClock.complaint_id).limit(limit)
    ))


def apply_due(session: Session, complaint_id: int, now: datetime, policy: Policy,
              calendar: WorkingCalendar) -> list[BreachDecision]:
    """Act on every breach of one complaint due by ``now``; returns those acted on here."""
    complaint = workflow.lock(session, complaint_id)
    running = clocks.running(session, complaint.id)
    if complaint.stage == policy.flow.archive or not running:
        return []
    by_start = {(r.stage, r.deadline, clocks.to_tracked(r).clock.started_at): r for r in running}
    state = ComplaintState(complaint.stage, complaint.role,
                           clocks.handled_breaches(session, complaint.id),
                           complaint.reopen_count)
    decisions = due_breaches(policy, clocks.classification_of(complaint), state,
                             [clocks.to_tracked(r) for r in running], now, calendar)
    applied = []
    for decision in decisions:
        key = decision.key
        row = by_start[(key.stage, key.deadline, key.clock_start)]
        inserted = insert_ignoring_conflict(session, ComplaintBreach.__table__, {
            "complaint_id": complaint.id, "clock_id": row.id, "breach_key": str(key),
            "n": key.n, "due_at": decision.due_at, "provisional": decision.provisional,
            "role_before": decision.role_before, "role_after": decision.role_after,
            "handled_at": now,
        }, ["complaint_id", "breach_key"])
        if not inserted:  # another worker got here first; it acts on the rest as well
            break
        _act(session, complaint, decision, row, now, policy)
        applied.append(decision)
    clocks.refresh(session, complaint, policy, calendar, now)
    return applied


def _act(session: Session, complaint: Complaint, decision: BreachDecision, row: ComplaintClock,
         now: datetime, policy: Policy) -> None:
    event = trail.record(
        session, complaint, SYSTEM, Action.BREACH, now, deadline=row.deadline,
        name=decision.name, due_at=decision.due_at, n=decision.key.n,
        provisional=decision.provisional, breach_key=str(decision.key),
        at_ceiling=decision.at_ceiling,
    )
    if decision.mark_overdue:
        complaint.overdue = True
    if decision.escalate_to:
        workflow.assign(session, complaint, decision.escalate_to, None, "breach", now)
        trail.record(session, complaint, SYSTEM, Action.ESCALATED, now,
                     from_role=decision.role_before, to_role=decision.escalate_to,
                     reason=f"breach of {row.deadline}")
    repeat = f"(第 {decision.key.n} 次)" if decision.key.n > 1 else ""
    where = policy.role_label(complaint.role)
    notify.to_roles(session, complaint, event, decision.notify, kind="breach", now=now,
                    text=f"投诉 {complaint.number} 超过时限「{decision.name}」{repeat},"
                         f"现由{where}处理")
    if decision.review_staff:
        workflow.staff_review(session, complaint, SYSTEM, now, policy)


def check_all(database: Database, now: datetime, policy: Policy) -> int:
    """One scan: every complaint with a due breach, each in its own transaction. A complaint
    that fails is logged and left for the next scan; the others go on."""
    with database.session() as session:
        due = complaints_due(session, now)
        calendar = load_calendar(session, policy)
    acted = 0
    for complaint_id in due:
        try:
            with database.session() as session:
                acted += len(apply_due(session, complaint_id, now, policy, calendar))
        except Exception:
            log.exception("deadline check of complaint %s failed; retried next scan",
                          complaint_id)
    return acted
