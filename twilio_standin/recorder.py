"""Starting, finishing and announcing recordings (``<Record>``, recorded ``<Dial>``, API calls).

Recording status callbacks carry what Twilio sends: AccountSid, CallSid, RecordingSid,
RecordingUrl, RecordingStatus, RecordingDuration, RecordingChannels, RecordingStartTime,
RecordingSource (and ErrorCode for ``absent``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .ids import rfc2822, shifted
from .recordings import Recording, RecordingStatus

if TYPE_CHECKING:
    from .engine import Engine

ABSENT_TOO_SHORT = 16101


@dataclass(frozen=True)
class RecordingCallback:
    """Where and for which events to send recording status callbacks."""

    url: str | None
    method: str
    events: frozenset[str]


def begin(engine: Engine, source: str, channels: int, callback: RecordingCallback | None,
          started_at: float | None = None) -> Recording:
    """Start a recording of the engine's call now (or at ``started_at``)."""
    at = engine.control.now if started_at is None else started_at
    recording = Recording(account_sid=engine.call.account_sid, call_sid=engine.call.sid,
                          source=source, channels=channels, started_at=at,
                          start_time=shifted(engine.call.created_at, at))
    engine.board.recordings.add(recording)
    if callback and "in-progress" in callback.events:
        send(engine, recording, callback, RecordingStatus.IN_PROGRESS)
    return recording


def finish(engine: Engine, recording: Recording, callback: RecordingCallback | None,
           duration: float | None = None, *, announce: bool = True) -> None:
    """Close a recording; empty ones become ``absent`` and are dropped like Twilio's."""
    recording.finish(engine.control.now, duration)
    if recording.duration == 0:
        recording.error_code = ABSENT_TOO_SHORT
        engine.board.recordings.delete(recording.sid)
    elif recording.sid not in engine.call_recordings:
        engine.call_recordings.append(recording.sid)
    if announce:
        announce_final(engine, recording, callback)


def announce_final(engine: Engine, recording: Recording, callback: RecordingCallback | None
                   ) -> None:
    """Send the ``completed``/``absent`` callback if it was asked for."""
    if callback is None:
        return
    status = recording.status.value
    if status in callback.events:
        send(engine, recording, callback, status)


def send(engine: Engine, recording: Recording, callback: RecordingCallback, status: str) -> None:
    params = {
        "AccountSid": recording.account_sid, "CallSid": recording.call_sid,
        "RecordingSid": recording.sid, "RecordingUrl": engine.board.recording_url(recording.sid),
        "RecordingStatus": status,
        "RecordingDuration": str(recording.duration if status != "in-progress" else 0),
        "RecordingChannels": str(recording.channels),
        "RecordingStartTime": rfc2822(recording.start_time) or "",
        "RecordingSource": recording.source,
    }
    if status == RecordingStatus.ABSENT:
        params["ErrorCode"] = str(recording.error_code or ABSENT_TOO_SHORT)
    engine.notify(callback.url, callback.method, params, f"recording status ({status})")
