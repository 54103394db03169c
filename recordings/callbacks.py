"""Twilio's recording status callbacks, applied idempotently and in any order.

Twilio may deliver a callback twice, and ``in-progress`` may arrive after ``completed``.
The first callback creates the record (one INSERT that ignores a conflict); later ones move
the status forward only, with an UPDATE conditioned on the current status, so that of two
deliveries of ``completed`` exactly one sees the transition and asks for the download.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.db import insert_ignoring_conflict
from recordings import links
from recordings.alerts import AlertKind, raise_alert
from recordings.models import MediaState, Recording

# A later status never goes back to an earlier one: callbacks can arrive out of order.
STATUS_RANK = {"in-progress": 1, "paused": 1, "stopped": 2, "completed": 3, "absent": 3,
               "failed": 3}
NO_MEDIA_STATUSES = ("absent", "failed")


@dataclass(frozen=True)
class RecordingFacts:
    """What one callback says. ``call_sid`` is the customer's call, ``leg_call_sid`` the
    leg Twilio recorded (the same unless the callback URL named the customer's call)."""

    recording_sid: str
    call_sid: str
    status: str
    url: str
    duration: int | None
    caller_number: str = ""
    leg_call_sid: str = ""
    seat_id: str | None = None
    channels: int | None = None
    source: str = ""
    started_at: datetime | None = None
    error_code: str = ""


@dataclass(frozen=True)
class CallbackOutcome:
    recording: Recording
    completed_now: bool  # this delivery moved the recording to completed: fetch the media


def media_state_for(status: str) -> MediaState:
    if status == "completed":
        return MediaState.PENDING
    if status in NO_MEDIA_STATUSES:
        return MediaState.NONE
    return MediaState.WAITING


def _statuses_at_or_above(rank: int) -> list[str]:
    return [status for status, other in STATUS_RANK.items() if other >= rank]


def apply_status(session: Session, facts: RecordingFacts, kind: str,
                 now: datetime) -> CallbackOutcome:
    """Create the recording record on first sight, then move its status forward only.

    Also fills in what a callback can tell and an earlier one could not (seat, caller,
    the complaint the call is attached to), and raises an alert when Twilio reports the
    recording as failed.
    """
    state = media_state_for(facts.status)
    inserted = insert_ignoring_conflict(session, Recording.__table__, {
        "recording_sid": facts.recording_sid,
        "call_sid": facts.call_sid,
        "leg_call_sid": facts.leg_call_sid or facts.call_sid,
        "kind": kind,
        "status": facts.status,
        "source": facts.source,
        "channels": facts.channels,
        "error_code": facts.error_code,
        "source_url": facts.url,
        "duration_seconds": facts.duration,
        "caller_number": facts.caller_number,
        "seat_id": facts.seat_id,
        "started_at": facts.started_at,
        "completed_at": now if state is MediaState.PENDING else None,
        "download_since": now if state is MediaState.PENDING else None,
        "media_state": state,
        "next_attempt_at": now if state is MediaState.PENDING else None,
        "created_at": now,
        "updated_at": now,
    }, ["recording_sid"])
    recording = session.scalar(
        select(Recording).where(Recording.recording_sid == facts.recording_sid)
    )
    assert recording is not None
    moved = inserted
    rank = STATUS_RANK.get(facts.status, 0)
    if not inserted and rank > STATUS_RANK.get(recording.status, 0):
        values: dict[str, object] = {
            "status": facts.status,
            "source_url": facts.url or recording.source_url,
            "duration_seconds": facts.duration
            if facts.duration is not None else recording.duration_seconds,
            "updated_at": now,
        }
        if facts.error_code:
            values["error_code"] = facts.error_code
        if state is not MediaState.WAITING:
            values["media_state"] = state
        if state is MediaState.PENDING:
            values.update(completed_at=now, download_since=now, next_attempt_at=now)
        result = session.execute(
            update(Recording)
            .where(Recording.id == recording.id,
                   Recording.status.not_in(_statuses_at_or_above(rank)))
            .values(**values)
        )
        moved = bool(result.rowcount)  # type: ignore[attr-defined]
        session.refresh(recording)
    _fill_in(session, recording, facts)
    if moved and facts.status == "failed":
        raise_alert(session, recording.id, AlertKind.PROVIDER_FAILED,
                    f"Twilio reports recording {recording.recording_sid} of call "
                    f"{recording.call_sid} as failed (error {facts.error_code or 'unknown'})",
                    now)
    return CallbackOutcome(recording, completed_now=moved and facts.status == "completed")


def _fill_in(session: Session, recording: Recording, facts: RecordingFacts) -> None:
    """Links an earlier callback could not know; never overwrites one already set.

    The seat comes from the callback URL, else from the call's hold-queue record; the
    caller from the call record.
    """
    if recording.seat_id is None:
        recording.seat_id = facts.seat_id or links.seat_of_call(session, recording.call_sid)
    if not recording.caller_number:
        recording.caller_number = facts.caller_number or links.caller_of_call(
            session, recording.call_sid)
    if recording.channels is None and facts.channels:
        recording.channels = facts.channels
    if recording.started_at is None and facts.started_at is not None:
        recording.started_at = facts.started_at
    if not recording.source and facts.source:
        recording.source = facts.source
    if recording.complaint_id is None:
        recording.complaint_id = links.complaint_of_call(session, recording.call_sid)
    session.flush()
