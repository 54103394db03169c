"""Registering a complaint (受理) and correcting its form.

A new complaint gets a keyable number and a query PIN (returned once, stored only as a
keyed hash), is linked to the call it came from (caller number, menu path, recordings),
routed to its first holder with its clocks started, judged for being major, and
acknowledged to the caller by SMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handlers import clocks, evidence, majors, notify, trail, wording, workflow
from handlers.calendar import WorkingCalendar
from handlers.context import repeat_callers
from handlers.errors import InvalidRequest
from handlers.escalation import open_complaint
from handlers.forms import CLASSIFICATION, NewComplaint
from handlers.lookup import hash_pin, new_query_pin
from handlers.models import Complaint, ComplaintEvent, ComplaintNumberCounter
from handlers.policy import Policy
from handlers.trail import Action, Actor
from ivr.calls import menu_path_text
from ivr.context import ivr_config
from ivr.models import Call
from staff.models import Staff

DEFAULT_CHANNEL = "phone"


def next_number(session: Session, day: date) -> str:
    """``yyMMdd`` + the day's sequence (4 digits, more after 9999): digits a caller can key.

    One atomic upsert of the day's counter row: concurrent registrations each get their own
    number on PostgreSQL (row lock) and SQLite (write lock) alike.
    """
    prefix = day.strftime("%y%m%d")
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
              else sqlite.insert)
    counter = ComplaintNumberCounter
    statement = (
        insert(counter).values(day=prefix, last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": counter.last + 1})
        .returning(counter.last)
    )
    while True:
        number = f"{prefix}{session.execute(statement).scalar_one():04d}"
        # A number entered by hand (imported records) is skipped rather than reused.
        if session.scalar(select(Complaint.id).where(Complaint.number == number)) is None:
            return number


@dataclass(frozen=True)
class Registered:
    complaint: Complaint
    pin: str  # told to the caller once; only its hash is kept


def register(session: Session, new: NewComplaint, staff: Staff, *, now: datetime,
             policy: Policy, calendar: WorkingCalendar, secret: str) -> Registered:
    fields: dict[str, Any] = {"channel": DEFAULT_CHANNEL, "severity": "", "complex": False,
                              "flags": [], "demands": [], **new.fields}
    if new.call_sid:
        # The call's latest steps may still be in this process's call journal.
        ivr_config().journal.catch_up()
        call = session.scalar(select(Call).where(Call.call_sid == new.call_sid))
        if call is None:
            raise InvalidRequest(f"call_sid: no call {new.call_sid} has reached the hotline")
        fields.setdefault("caller_number", call.from_number)
        fields["menu_path"] = menu_path_text(session, new.call_sid)
    number = next_number(session, calendar.local(now).date())
    pin = new_query_pin()
    complaint = Complaint(number=number, query_pin_hash=hash_pin(secret, number, pin),
                          call_sid=new.call_sid, accepted_by=staff.id, created_at=now,
                          stage=policy.flow.initial, **fields)
    try:
        opening = open_complaint(policy, clocks.classification_of(complaint), now)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    session.add(complaint)
    session.flush()
    repeat_callers().number_added(session, complaint.caller_number)
    actor = Actor.of(staff)
    holder = staff.id if staff.role == opening.role else None
    workflow.assign(session, complaint, opening.role, holder, "registered", now)
    started = clocks.start(session, complaint, policy, opening.clocks)
    clocks.refresh(session, complaint, policy, calendar, now)
    routing = opening.routing
    created = trail.record(
        session, complaint, actor, Action.CREATED, now, channel=complaint.channel,
        call_sid=new.call_sid, menu_path=complaint.menu_path,
        classification={k: fields.get(k) for k in sorted(CLASSIFICATION)},
        routing={"start": routing.start, "notify": routing.notify,
                 "final_answer": routing.final_answer, "ceiling": routing.ceiling},
        guidance=routing.guidance,
        deadlines=[{"stage": r.stage, "deadline": r.deadline, "name": r.name,
                    "due_at": r.due_at, "provisional": r.provisional} for r in started],
    )
    told = [*opening.notify, *([] if holder else [opening.role])]
    notify.to_roles(session, complaint, created, told, kind="new_complaint", now=now,
                    text=f"新投诉 {number}:{complaint.subject or complaint.description[:40]}")
    if new.call_sid:
        evidence.attach_call(session, complaint, new.call_sid, actor, now)
    for item in new.evidence:
        evidence.add(session, complaint, actor, item, now)
    majors.assess(session, complaint, actor, now, policy, calendar)
    acknowledge(session, complaint, created, staff, now, policy, calendar)
    return Registered(complaint, pin)


def acknowledge(session: Session, complaint: Complaint, event: ComplaintEvent, staff: Staff,
                now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
    """Queue the acknowledgment SMS (受理确认): number, time, expected completion, handler,
    missing materials. Sending it meets the policy's ``met_on = "acknowledged"`` deadlines."""
    handler = policy.roles[complaint.role].name if complaint.role in policy.roles else ""
    if complaint.assignee_id:
        handler += f"(工号 {complaint.assignee_id})"
    body = wording.acknowledgment(
        ivr_config().prompts, number=complaint.number, received_at=complaint.created_at,
        expected_at=complaint.expected_completion_at, handler=handler,
        missing=complaint.missing_materials, zone=calendar.tz)
    if notify.to_caller(session, complaint, event, kind="acknowledgment", body=body,
                        now=now) is None:
        trail.record(session, complaint, Actor.of(staff), Action.NOTIFICATION_FAILED, now,
                     kind="acknowledgment", reason="no phone number to send it to")


def correct(session: Session, complaint: Complaint, staff: Staff, changes: dict[str, Any], *,
            opinion: str, now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
    """Correct or complete the form. A new classification re-reads the durations of the
    running deadlines; new flags, demands or classification are judged for a major case."""
    if complaint.stage == policy.flow.archive:
        raise InvalidRequest(f"complaint {complaint.number} is archived; reopen it first")
    before = {key: getattr(complaint, key) for key in changes}
    changed = {k: [before[k], v] for k, v in changes.items() if before[k] != v}
    if not changed:
        return
    for key, value in changes.items():
        setattr(complaint, key, value)
    if "caller_number" in changed:
        repeat_callers().number_added(session, complaint.caller_number)
    classification = clocks.classification_of(complaint)
    try:
        classification.facts(policy)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    if CLASSIFICATION & changed.keys():
        for row in clocks.running(session, complaint.id):
            spec = clocks.spec_for(policy, classification, row.stage, row.deadline)
            if spec is not None:
                row.amount, row.unit = float(spec.duration.amount), spec.duration.unit
        clocks.refresh(session, complaint, policy, calendar, now)
    actor = Actor.of(staff)
    trail.record(session, complaint, actor, Action.UPDATED, now, opinion=opinion,
                 changes=changed)
    if {"flags", "demands"} & changed.keys() or CLASSIFICATION & changed.keys():
        majors.assess(session, complaint, actor, now, policy, calendar)


def reissue_pin(session: Session, complaint: Complaint, staff: Staff, *, secret: str,
                now: datetime) -> str:
    """A new query PIN for the complaint (the old one stops working); returned this once."""
    pin = new_query_pin()
    complaint.query_pin_hash = hash_pin(secret, complaint.number, pin)
    trail.record(session, complaint, Actor.of(staff), Action.PIN_REISSUED, now)
    return pin
