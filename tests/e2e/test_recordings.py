"""Whole calls end as verified evidence: recorded, downloaded by a worker process, hashed,
attached to the complaint, playable by its seat, proven by ``ivr recordings verify``."""

from __future__ import annotations

import hashlib
import io
import wave
from datetime import datetime
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import select
from twilio.twiml.voice_response import VoiceResponse

from callcenter.localrun import LocalSystem, wait_until
from handlers.models import Complaint
from recordings.capture import dial_recording_attributes, pause_log, status_callback_path
from recordings.links import attach_call_to_complaint, evidence_list
from recordings.models import MediaState, Recording
from staff.models import Role
from tests.recordings.helpers import add_person, app_of
from twilio_standin import CallScript, SeatBehaviour, press, speak, wait

SHANGHAI = ZoneInfo("Asia/Shanghai")
IN_HOURS = datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI)
AFTER_HOURS = datetime(2026, 11, 23, 23, 5, tzinfo=SHANGHAI)
CALLER = "+8613900000001"
BYTES_PER_SECOND = 8000 * 2 * 2  # 8 kHz, 16 bit, two channels


def connect_to_seat(system: LocalSystem, call_sid: str, seat_id: str) -> None:
    """What the routing does once it picked a seat for a waiting call: bridge them in a
    recorded ``<Dial>``. (Done here through Twilio's REST API with inline TwiML.)"""
    response = VoiceResponse()
    callback = system.settings.public_url(status_callback_path("conversation", seat_id))
    dial = response.dial(**dial_recording_attributes(callback))
    dial.client(seat_id)
    system.services.twilio.calls(call_sid).update(twiml=str(response))


def recordings_of(system: LocalSystem, call_sid: str) -> list[Recording]:
    with system.services.database.session() as session:
        return list(session.scalars(select(Recording).where(Recording.call_sid == call_sid)))


def all_stored(system: LocalSystem, call_sid: str) -> bool:
    found = recordings_of(system, call_sid)
    return bool(found) and all(r.media_state == MediaState.STORED for r in found)


def new_complaint(system: LocalSystem, number: str, caller: str,
                  accepted_by: str | None = None) -> int:
    with system.services.database.session() as session:
        complaint = Complaint(number=number, query_pin_hash="x", caller_number=caller,
                              accepted_by=accepted_by)
        session.add(complaint)
        session.flush()
        return complaint.id


def verify(system: LocalSystem) -> tuple[int, str]:
    result = app_of(system).test_cli_runner().invoke(
        args=["recordings", "verify", "--require-complete", "--verbose"])
    return result.exit_code, result.output


def test_routed_complaint_call_ends_as_verified_evidence_of_its_complaint(
        system: LocalSystem) -> None:
    system.set_clock(lambda: IN_HOURS)
    seat = add_person(system.services, "wang", Role.SEAT, "seat-7")
    stranger = add_person(system.services, "li", Role.SEAT, "seat-8")
    system.standin.seats["client:seat-7"] = SeatBehaviour(answer_after=2, talk_for=400)
    handle = system.standin.start_call(CALLER, "+864001234567",
                                       CallScript([press("2"), wait(3000)]))
    assert system.standin.wait_for_queue("hold-complaint", 1, timeout=20)
    connect_to_seat(system, handle.sid, "seat-7")
    assert wait_until(lambda: bool(recordings_of(system, handle.sid)), timeout=20)
    [live] = recordings_of(system, handle.sid)
    assert (live.status, live.seat_id, live.caller_number) == ("in-progress", "seat-7", CALLER)

    # While talking, the seat files the complaint and attaches the call to it...
    complaint_id = new_complaint(system, "2611230101", CALLER, accepted_by=seat.staff_id)
    with system.services.database.session() as session:
        attach_call_to_complaint(session, handle.sid, complaint_id, seat.staff_id)
    # ...and pauses the recording while the caller reads out a card number.
    api = f"{system.local_url}/api/calls/{handle.sid}/recording"
    paused = requests.post(api, json={"action": "pause", "reason": "payment"},
                           headers=seat.headers, timeout=10)
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    assert requests.post(api, json={"action": "pause", "reason": "payment"},
                         headers=stranger.headers, timeout=10).status_code == 403
    wait_until(lambda: False, timeout=0.5)  # the card number takes a while
    resumed = requests.post(api, json={"action": "resume", "reason": "payment"},
                            headers=seat.headers, timeout=10)
    assert resumed.status_code == 200 and resumed.json()["status"] == "in-progress"

    result = handle.wait(timeout=60)
    assert result.ok, result.render()
    assert wait_until(lambda: all_stored(system, handle.sid), timeout=30)
    [kept] = recordings_of(system, handle.sid)
    assert kept.complaint_id == complaint_id and kept.channels == 2
    original = system.standin.recording(kept.recording_sid).wav_bytes()
    assert kept.sha256 == hashlib.sha256(original).hexdigest()

    with system.services.database.session() as session:
        [evidence] = evidence_list(session, complaint_id)
        pauses = [(p.action, p.reason, p.outcome, p.staff_id)
                  for p in pause_log(session, handle.sid)]
    assert evidence["sha256"] == kept.sha256 and evidence["integrity"] == "ok"
    assert pauses == [("pause", "payment", "ok", "wang"), ("resume", "payment", "ok", "wang")]

    media = requests.get(f"{system.local_url}/api/recordings/{kept.recording_sid}/media",
                         headers=seat.headers, timeout=10)
    assert media.status_code == 200 and media.content == original
    with wave.open(io.BytesIO(media.content)) as audio:
        assert audio.getnchannels() == 2  # caller and seat on separate channels
    [(begin, end)] = system.standin.recording(kept.recording_sid).silent_spans
    middle = 44 + int((begin + end) / 2 * BYTES_PER_SECOND) // 4 * 4
    assert media.content[middle:middle + 400] == bytes(400)  # the paused span is silence
    assert requests.get(f"{system.local_url}/api/recordings/{kept.recording_sid}/media",
                        headers=stranger.headers, timeout=10).status_code == 403

    code, report = verify(system)
    assert code == 0, report
    assert f"{kept.recording_sid}  ok" in report


def test_voicemail_ends_as_a_verified_file_linked_to_its_complaint(system: LocalSystem) -> None:
    system.set_clock(lambda: AFTER_HOURS)
    handle = system.standin.start_call("+8613900000002", "+864001234567",
                                       CallScript([press("1"), speak(20)]))
    result = handle.wait(timeout=60)
    assert result.ok, result.render()
    call_sid = handle.sid
    assert wait_until(lambda: all_stored(system, call_sid), timeout=30)
    complaint_id = new_complaint(system, "2611230102", "+8613900000002")
    with system.services.database.session() as session:
        assert attach_call_to_complaint(session, call_sid, complaint_id, None) == 1
        [evidence] = evidence_list(session, complaint_id)
    assert evidence["kind"] == "voicemail" and evidence["duration_seconds"] == 20
    [kept] = recordings_of(system, call_sid)
    assert result.recording_sids == [kept.recording_sid]
    assert evidence["sha256"] == kept.sha256 == hashlib.sha256(
        system.standin.recording(kept.recording_sid).wav_bytes()).hexdigest()
    code, report = verify(system)
    assert code == 0 and "1 stored recordings checked: 1 ok" in report, report
