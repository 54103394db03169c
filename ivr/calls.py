"""The call record: opened by the first webhook, extended by every step, closed by status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.db import insert_ignoring_conflict
from ivr.models import FINAL_CALL_STATUSES, Call, CallStatus, CallStep

MAX_NUMBER_LENGTH = 32


@dataclass(frozen=True)
class CallFacts:
    """The parameters every Twilio voice webhook carries, cleaned."""

    call_sid: str
    from_number: str
    to_number: str
    direction: str
    status: str

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> CallFacts:
        get = form.get
        sid = str(get("CallSid", "") or "")
        # A CallSid is 'CA' + 32 hex digits; anything else is not a call we can key on.
        valid_sid = sid if 2 < len(sid) <= 64 and sid.isalnum() else ""
        return cls(
            call_sid=valid_sid,
            from_number=str(get("From", "") or "")[:MAX_NUMBER_LENGTH],
            to_number=str(get("To", "") or "")[:MAX_NUMBER_LENGTH],
            direction=str(get("Direction", "inbound") or "inbound")[:16],
            status=str(get("CallStatus", "") or "")[:16],
        )


def ensure_call(session: Session, facts: CallFacts, *, after_hours: bool, now: datetime) -> None:
    """Create the call record if this is the first webhook seen for the call."""
    insert_ignoring_conflict(session, Call.__table__, {
        "call_sid": facts.call_sid,
        "from_number": facts.from_number,
        "to_number": facts.to_number,
        "direction": facts.direction,
        "status": CallStatus.IN_PROGRESS,
        "after_hours": after_hours,
        "started_at": now,
        "outcome": "",
    }, ["call_sid"])


def record_step(
    session: Session, call_sid: str, request_key: str, node: str, caller_input: str,
    outcome: str, now: datetime,
) -> bool:
    """Append one step to the call's path; a retried webhook (same key) adds nothing."""
    return insert_ignoring_conflict(session, CallStep.__table__, {
        "call_sid": call_sid,
        "request_key": request_key,
        "at": now,
        "node": node[:32],
        "caller_input": caller_input[:64],
        "outcome": outcome[:64],
    }, ["call_sid", "request_key"])


def set_outcome(session: Session, call_sid: str, outcome: str) -> None:
    session.execute(update(Call).where(Call.call_sid == call_sid).values(outcome=outcome[:32]))


def close_call(
    session: Session, facts: CallFacts, duration: int | None, now: datetime
) -> None:
    """Apply Twilio's status callback; a final status is never overwritten by a late one."""
    ensure_call(session, facts, after_hours=False, now=now)
    try:
        status = CallStatus(facts.status)
    except ValueError:
        return
    values: dict[str, object] = {"status": status}
    if status in FINAL_CALL_STATUSES:
        values.update(ended_at=now, duration_seconds=duration)
    session.execute(
        update(Call)
        .where(Call.call_sid == facts.call_sid, Call.status.not_in(list(FINAL_CALL_STATUSES)))
        .values(**values)
    )


def call_path(session: Session, call_sid: str) -> list[CallStep]:
    return list(session.scalars(
        select(CallStep).where(CallStep.call_sid == call_sid).order_by(CallStep.id)
    ))


def menu_path_text(session: Session, call_sid: str) -> str:
    """The path as one line, e.g. 'incoming > after_hours:dtmf:1 > voicemail'."""
    parts = []
    for step in call_path(session, call_sid):
        parts.append(f"{step.node}:{step.caller_input}" if step.caller_input else step.node)
    return " > ".join(parts)
