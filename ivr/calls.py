"""The call record: opened by the first webhook, extended by every step, closed by status."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import TextClause, select, text, update
from sqlalchemy.orm import Session

from callcenter.db import insert_ignoring_conflict
from ivr.models import FINAL_CALL_STATUSES, Call, CallStatus, CallStep

MAX_NUMBER_LENGTH = 32


@dataclass(frozen=True, slots=True)
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
        sid = get("CallSid", "")
        # A CallSid is 'CA' + 32 hex digits; anything else is not a call we can key on.
        valid_sid = sid if 2 < len(sid) <= 64 and sid.isalnum() else ""
        return cls(valid_sid, get("From", "")[:MAX_NUMBER_LENGTH],
                   get("To", "")[:MAX_NUMBER_LENGTH], get("Direction", "")[:16] or "inbound",
                   get("CallStatus", "")[:16])


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


# The journal's lines (``ivr.journal.StepLine``: JSON arrays) taken apart by the database:
# a batch of hundreds is two statements, with no per-row work in Python. A line that is not
# a version-1 line with a well-formed time fails the batch (a failing cast; SQLite's json()
# of a non-JSON text), and the journal then ships the good lines without it.
_LINES = {
    "postgresql": """
        SELECT value ->> 1 AS call_sid, value ->> 2 AS request_key,
               CAST(CASE WHEN value ->> 0 = '1' THEN (value ->> 3) || '+00'
                         ELSE 'not a journal line' END AS timestamptz) AS at,
               value ->> 4 AS node,
               value ->> 5 AS caller_input, value ->> 6 AS outcome,
               value ->> 7 AS from_number, value ->> 8 AS to_number,
               value ->> 9 AS direction, CAST(value ->> 10 AS boolean) AS after_hours
        FROM jsonb_array_elements(CAST(:batch AS jsonb)) AS lines(value)""",
    "sqlite": """
        SELECT value ->> 1 AS call_sid, value ->> 2 AS request_key,
               CASE WHEN value ->> 0 = 1 AND length(value ->> 3) = 26
                         AND datetime(value ->> 3) IS NOT NULL THEN value ->> 3
                    ELSE json('not a journal line: ' || value) END AS at,
               value ->> 4 AS node, value ->> 5 AS caller_input, value ->> 6 AS outcome,
               value ->> 7 AS from_number, value ->> 8 AS to_number,
               value ->> 9 AS direction, value ->> 10 AS after_hours
        FROM json_each(:batch)""",
}
# Each call's record is opened by its earliest step; a record opened earlier by a later
# webhook (one that needed it at once) takes the earlier start.
_OPEN_CALLS = """
    WITH lines AS ({lines}),
    firsts AS (SELECT *, row_number() OVER (PARTITION BY call_sid ORDER BY at) AS n
               FROM lines)
    INSERT INTO calls (call_sid, from_number, to_number, direction, status, after_hours,
                       started_at, outcome)
    SELECT call_sid, from_number, to_number, direction, 'in-progress', after_hours, at, ''
    FROM firsts WHERE n = 1
    ON CONFLICT (call_sid) DO UPDATE
        SET started_at = excluded.started_at, after_hours = excluded.after_hours
        WHERE calls.started_at > excluded.started_at"""
# A step already written (a retried webhook, a line shipped twice) is not written again.
_ADD_STEPS = """
    WITH lines AS ({lines})
    INSERT INTO call_steps (call_sid, request_key, at, node, caller_input, outcome)
    SELECT call_sid, request_key, at, node, caller_input, outcome FROM lines WHERE true
    ON CONFLICT (call_sid, request_key) DO NOTHING"""


@functools.cache
def _journal_statements(dialect: str) -> tuple[TextClause, TextClause]:
    lines = _LINES[dialect]
    return text(_OPEN_CALLS.format(lines=lines)), text(_ADD_STEPS.format(lines=lines))


def record_steps(session: Session, batch: bytes) -> None:
    """Write a batch of steps shipped from the call journal (a JSON array of its lines)."""
    open_calls, add_steps = _journal_statements(session.get_bind().dialect.name)
    document = batch.decode()
    session.execute(open_calls, {"batch": document})
    session.execute(add_steps, {"batch": document})


def set_outcome(session: Session, facts: CallFacts, outcome: str, *, after_hours: bool,
                now: datetime) -> None:
    """Written at once (not journaled): routing and reports read the outcome right after."""
    ensure_call(session, facts, after_hours=after_hours, now=now)
    session.execute(
        update(Call).where(Call.call_sid == facts.call_sid).values(outcome=outcome[:32]))


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
        select(CallStep).where(CallStep.call_sid == call_sid)
        .order_by(CallStep.at, CallStep.id)
    ))


def menu_path_text(session: Session, call_sid: str) -> str:
    """The path as one line, e.g. 'incoming > after_hours:dtmf:1 > voicemail'."""
    parts = []
    for step in call_path(session, call_sid):
        parts.append(f"{step.node}:{step.caller_input}" if step.caller_input else step.node)
    return " > ".join(parts)
