"""A complaint's SLA clocks in the database, computed by the pure ``handlers.sla``.

Rows hold what a clock is (start, duration, pauses, extensions); ``refresh`` derives what
it means now (deadline, provisional, next breach to act on) with the working calendar, and
is called after every change and whenever the calendar changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.calendar import WorkingCalendar
from handlers.escalation import (
    Classification,
    TrackedClock,
    clocks_for,
    deadline_rules,
    next_breach,
)
from handlers.models import ClockStatus, Complaint, ComplaintBreach, ComplaintClock
from handlers.policy import DeadlineSpec, Policy
from handlers.sla import Duration, Extension, Pause, SlaClock, Unit


def classification_of(complaint: Complaint) -> Classification:
    return Classification(
        complaint.complaint_class, complaint.level, complaint.urgency,
        severity=complaint.severity or None, channel=complaint.channel or None,
        complex=complaint.complex,
    )


def _amount(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def to_tracked(row: ComplaintClock) -> TrackedClock:
    pauses = tuple(
        Pause(datetime.fromisoformat(p["start"]),
              datetime.fromisoformat(p["end"]) if p.get("end") else None, p.get("reason", ""))
        for p in row.pauses
    )
    extensions = tuple(
        Extension(e["amount"], datetime.fromisoformat(e["at"]), e.get("reason", ""))
        for e in row.extensions
    )
    duration = Duration(_amount(row.amount), Unit(row.unit))
    clock = SlaClock(row.started_at, duration, pauses, extensions)
    return TrackedClock(row.stage, row.deadline, row.name, clock, row.on_breach)


def store(row: ComplaintClock, clock: SlaClock) -> None:
    """Write a changed clock (paused, resumed, extended, restarted) back to its row."""
    row.started_at = clock.started_at
    row.pauses = [
        {"start": p.started_at.isoformat(),
         "end": p.ended_at.isoformat() if p.ended_at else None, "reason": p.reason}
        for p in clock.pauses
    ]
    row.extensions = [
        {"amount": e.amount, "at": e.requested_at.isoformat(), "reason": e.reason}
        for e in clock.extensions
    ]


def spec_for(policy: Policy, classification: Classification, stage: str,
             deadline_id: str) -> DeadlineSpec | None:
    for spec in deadline_rules(policy, classification, stage):
        if spec.id == deadline_id:
            return spec
    return None


def start(session: Session, complaint: Complaint, policy: Policy,
          tracked: Iterable[TrackedClock]) -> list[ComplaintClock]:
    """Store newly started clocks (``refresh`` fills in their deadlines)."""
    classification = classification_of(complaint)
    rows = []
    for clock in tracked:
        spec = spec_for(policy, classification, clock.stage, clock.deadline)
        assert spec is not None, f"{clock.stage}/{clock.deadline} is not in the policy"
        row = ComplaintClock(
            complaint_id=complaint.id, stage=clock.stage, deadline=clock.deadline,
            name=clock.name, on_breach=clock.on_breach, resume=spec.resume, met_on=spec.met_on,
            amount=float(clock.clock.duration.amount), unit=clock.clock.duration.unit,
            status=ClockStatus.RUNNING, pauses=[], extensions=[], provisional=False,
        )
        store(row, clock.clock)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def running(session: Session, complaint_id: int) -> list[ComplaintClock]:
    return list(session.scalars(
        select(ComplaintClock)
        .where(ComplaintClock.complaint_id == complaint_id,
               ComplaintClock.status == ClockStatus.RUNNING)
        .order_by(ComplaintClock.id)
    ))


def all_clocks(session: Session, complaint_id: int) -> list[ComplaintClock]:
    return list(session.scalars(
        select(ComplaintClock).where(ComplaintClock.complaint_id == complaint_id)
        .order_by(ComplaintClock.id)
    ))


def meet(session: Session, complaint: Complaint, policy: Policy, rows: Iterable[ComplaintClock],
         now: datetime) -> list[ComplaintClock]:
    """Mark clocks met; start the deadlines of the complaint's stage that run from them."""
    started: list[ComplaintClock] = []
    classification = classification_of(complaint)
    for row in rows:
        if row.status != ClockStatus.RUNNING:
            continue
        row.status, row.ended_at = ClockStatus.MET, max(now, row.started_at)
        if row.stage == complaint.stage:
            follow = clocks_for(policy, classification, row.stage, f"met:{row.deadline}", now)
            started += start(session, complaint, policy, follow)
    session.flush()
    return started


def close(rows: Iterable[ComplaintClock], now: datetime) -> None:
    """Stop clocks that no longer apply (archived or reopened before they were met)."""
    for row in rows:
        if row.status == ClockStatus.RUNNING:
            row.status, row.ended_at = ClockStatus.CLOSED, max(now, row.started_at)


def handled_breaches(session: Session, complaint_id: int) -> frozenset[str]:
    return frozenset(session.scalars(
        select(ComplaintBreach.breach_key).where(ComplaintBreach.complaint_id == complaint_id)
    ))


def refresh(session: Session, complaint: Complaint, policy: Policy, calendar: WorkingCalendar,
            now: datetime) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Recompute every running clock's deadline and next breach, and the complaint's summary
    (expected completion, provisional, paused, overdue). Returns the deadlines that moved."""
    handled = handled_breaches(session, complaint.id)
    moved: dict[str, tuple[datetime | None, datetime | None]] = {}
    rows = running(session, complaint.id)
    for row in rows:
        tracked = to_tracked(row)
        due = tracked.clock.deadline(calendar)
        after = None if due is None else due.at
        if row.due_at != after:
            moved[f"{row.stage}/{row.deadline}"] = (row.due_at, after)
        row.due_at, row.provisional = after, bool(due and due.provisional)
        upcoming = next_breach(policy, tracked, calendar, handled)
        row.next_breach_at = None if upcoming is None else upcoming.at
    complaint.provisional = any(row.provisional for row in rows)
    complaint.paused = any(to_tracked(row).clock.paused for row in rows)
    if complaint.overdue and not any(row.due_at and row.due_at < now for row in rows):
        complaint.overdue = False
    handling = [row.due_at for row in rows if row.due_at and row.stage != policy.flow.callback]
    if handling:
        complaint.expected_completion_at = max(handling)
    session.flush()
    return moved
