"""Twilio's recording status callbacks, applied idempotently and in any order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.db import insert_ignoring_conflict
from recordings.models import Recording

# A later status never goes back to an earlier one: callbacks can arrive out of order.
STATUS_RANK = {"in-progress": 1, "paused": 1, "stopped": 2, "completed": 3, "absent": 3,
               "failed": 3}


@dataclass(frozen=True)
class RecordingFacts:
    recording_sid: str
    call_sid: str
    status: str
    url: str
    duration: int | None
    caller_number: str = ""


def apply_status(session: Session, facts: RecordingFacts, kind: str, now: datetime) -> Recording:
    """Create the recording record on first sight, then move its status forward only."""
    insert_ignoring_conflict(session, Recording.__table__, {
        "recording_sid": facts.recording_sid,
        "call_sid": facts.call_sid,
        "kind": kind,
        "status": facts.status,
        "source_url": facts.url,
        "duration_seconds": facts.duration,
        "caller_number": facts.caller_number,
        "created_at": now,
        "updated_at": now,
    }, ["recording_sid"])
    recording = session.scalar(
        select(Recording).where(Recording.recording_sid == facts.recording_sid)
    )
    assert recording is not None
    if STATUS_RANK.get(facts.status, 0) > STATUS_RANK.get(recording.status, 0):
        session.execute(
            update(Recording).where(Recording.id == recording.id).values(
                status=facts.status,
                source_url=facts.url or recording.source_url,
                duration_seconds=facts.duration
                if facts.duration is not None else recording.duration_seconds,
                updated_at=now,
            )
        )
        session.refresh(recording)
    return recording
