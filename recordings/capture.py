"""Capturing recordings: the recorded-``<Dial>`` attributes the routing uses, and pausing.

Every routed call is recorded from the moment the seat answers, on two channels (caller on
one, seat on the other), by ``<Dial record="record-from-answer-dual">``. The routing's TwiML
builder passes :func:`dial_recording_attributes` to ``VoiceResponse.dial``; the status
callback URL carries the seat (and, when the recorded leg is the seat's own call, the
customer's call), which is how the recording is linked to both.

Pausing goes through Twilio's REST API (``Twilio.CURRENT`` recording of the recorded leg)
with ``PauseBehavior=silence``: the paused span stays in the file as silence, so the
timeline of the evidence is not shortened, and each pause and resume is logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.db import Database
from recordings.models import Recording, RecordingPause

log = logging.getLogger(__name__)

STATUS_PATH = "/recordings/status"
CALLBACK_EVENTS = "in-progress completed absent"
SEAT_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,32}$")
CALL_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")
PAUSE_REASONS = ("payment", "identity", "other")


def status_callback_path(kind: str, seat_id: str | None = None,
                         call_sid: str | None = None) -> str:
    """``/recordings/status?kind=…&seat=…&call=…``: the path to make absolute (public URL)."""
    params = {"kind": kind}
    if seat_id:
        if not SEAT_ID.match(seat_id):
            raise ValueError(f"not a seat id: {seat_id!r}")
        params["seat"] = seat_id
    if call_sid:
        if not CALL_SID.match(call_sid):
            raise ValueError(f"not a call SID: {call_sid!r}")
        params["call"] = call_sid
    return f"{STATUS_PATH}?{urlencode(params)}"


def dial_recording_attributes(status_callback_url: str) -> dict[str, str]:
    """Keyword arguments for ``VoiceResponse.dial`` that record the conversation.

    ``status_callback_url`` is the public URL of :func:`status_callback_path` for the
    ``conversation`` kind and the seat being dialled.
    """
    return {
        "record": "record-from-answer-dual",
        "recording_status_callback": status_callback_url,
        "recording_status_callback_method": "POST",
        "recording_status_callback_event": CALLBACK_EVENTS,
    }


class PauseAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"


@dataclass(frozen=True)
class PauseResult:
    outcome: str  # "ok", "no_recording" (nothing being recorded), "error" (Twilio failed)
    recording_sid: str
    status: str
    detail: str = ""


def recorded_leg(session: Session, call_sid: str) -> str:
    """The call leg carrying the call's recording: the one Twilio's callbacks named."""
    leg = session.scalar(
        select(Recording.leg_call_sid)
        .where(Recording.call_sid == call_sid, Recording.status.in_(("in-progress", "paused")),
               Recording.leg_call_sid != "")
        .order_by(Recording.id.desc()).limit(1)
    )
    return leg or call_sid


def set_recording_state(twilio: object, leg_call_sid: str, action: PauseAction) -> PauseResult:
    """Ask Twilio to pause or resume the current recording of a call leg."""
    from twilio.base.exceptions import TwilioException, TwilioRestException

    status = "paused" if action is PauseAction.PAUSE else "in-progress"
    try:
        current = twilio.calls(leg_call_sid).recordings("Twilio.CURRENT")  # type: ignore[attr-defined]
        updated = current.update(status=status, pause_behavior="silence")
    except TwilioRestException as exc:
        if exc.status in (400, 404):
            return PauseResult("no_recording", "", "", f"Twilio: {exc.msg}"[:255])
        return PauseResult("error", "", "", f"Twilio error {exc.status}: {exc.msg}"[:255])
    except (TwilioException, OSError) as exc:  # requests' errors are OSErrors
        return PauseResult("error", "", "", f"Twilio unreachable: {exc}"[:255])
    return PauseResult("ok", str(updated.sid or ""), str(updated.status or status))


def pause_or_resume(database: Database, twilio: object, call_sid: str, action: PauseAction,
                    reason: str, staff_id: str, clock: Callable[[], datetime]) -> PauseResult:
    """Pause or resume the call's recording and log the request whatever its outcome.

    No transaction is held open while Twilio is asked.
    """
    with database.session() as session:
        leg = recorded_leg(session, call_sid)
    result = set_recording_state(twilio, leg, action)
    with database.session() as session:
        session.add(RecordingPause(call_sid=call_sid, recording_sid=result.recording_sid,
                                   action=action.value, reason=reason, staff_id=staff_id,
                                   at=clock(), outcome=result.outcome, detail=result.detail))
    log.info("recording of call %s: %s by %s (%s): %s", call_sid, action.value, staff_id,
             reason, result.outcome)
    return result


def pause_log(session: Session, call_sid: str) -> list[RecordingPause]:
    return list(session.scalars(select(RecordingPause).where(RecordingPause.call_sid == call_sid)
                                .order_by(RecordingPause.at, RecordingPause.id)))
