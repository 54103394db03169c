"""Recording status callbacks: signed, idempotent, safe in any order, linked, one download."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from rq import Queue
from sqlalchemy import func, select

from callcenter.jobs import RECORDINGS
from callcenter.services import Services
from handlers.models import Complaint
from ivr.models import Call
from queues.models import QueuedCall
from recordings.alerts import open_alerts
from recordings.capture import dial_recording_attributes, status_callback_path
from recordings.links import attach_call_to_complaint
from recordings.models import MediaState, Recording, RecordingAlert
from tests.conftest import ACCOUNT_SID, TwilioSigner

CALL = "CA" + "c" * 32
SEAT_LEG = "CA" + "d" * 32
SID = "RE" + "1" * 32
CALLER = "+8613800000009"


def callback(status: str, *, sid: str = SID, call: str = CALL, duration: str = "0",
             **extra: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID, "CallSid": call, "RecordingSid": sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
                        f"/Recordings/{sid}",
        "RecordingStatus": status, "RecordingDuration": duration, "RecordingChannels": "2",
        "RecordingSource": "DialVerb", "RecordingStartTime": "Mon, 23 Nov 2026 02:30:00 +0000",
        **extra,
    }


@pytest.fixture
def call(app_services: Services) -> None:
    with app_services.database.session() as session:
        session.add(Call(call_sid=CALL, from_number=CALLER, to_number="+864001234567"))


def rows(app_services: Services) -> list[Recording]:
    with app_services.database.session() as session:
        return list(session.scalars(select(Recording)))


def downloads_enqueued(app_services: Services) -> int:
    return Queue(RECORDINGS, connection=app_services.redis).count


def post(twilio: TwilioSigner, data: dict[str, str], path: str = "/recordings/status"
         "?kind=conversation&seat=seat-7") -> None:
    response = twilio.post(path, data)
    assert response.status_code == 200, response.data


def test_unsigned_callback_is_refused_and_changes_nothing(client: FlaskClient,
                                                          app_services: Services) -> None:
    response = client.post("/recordings/status?kind=conversation", data=callback("completed"))
    assert response.status_code == 403
    forged = client.post("/recordings/status?kind=conversation", data=callback("completed"),
                         headers={"X-Twilio-Signature": "forged"})
    assert forged.status_code == 403
    assert rows(app_services) == [] and downloads_enqueued(app_services) == 0


def test_duplicated_callbacks_make_one_record_and_one_download(
        twilio: TwilioSigner, app_services: Services, call: None) -> None:
    for _ in range(2):
        post(twilio, callback("in-progress"))
    for _ in range(3):
        post(twilio, callback("completed", duration="42"))
    [recording] = rows(app_services)
    assert (recording.status, recording.duration_seconds) == ("completed", 42)
    assert recording.media_state == MediaState.PENDING
    assert recording.kind == "conversation" and recording.channels == 2
    assert recording.started_at == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    assert downloads_enqueued(app_services) == 1


def test_out_of_order_callbacks_never_move_the_status_back(
        twilio: TwilioSigner, app_services: Services, call: None) -> None:
    post(twilio, callback("completed", duration="30"))
    post(twilio, callback("in-progress"))
    [recording] = rows(app_services)
    assert (recording.status, recording.duration_seconds) == ("completed", 30)
    assert recording.media_state == MediaState.PENDING and recording.completed_at is not None
    assert downloads_enqueued(app_services) == 1


def test_callback_links_the_seat_and_the_caller(twilio: TwilioSigner, app_services: Services,
                                                call: None) -> None:
    post(twilio, callback("in-progress"))
    [recording] = rows(app_services)
    assert (recording.seat_id, recording.caller_number, recording.call_sid) == (
        "seat-7", CALLER, CALL)


def test_seat_comes_from_the_hold_queue_when_the_url_has_none(
        twilio: TwilioSigner, app_services: Services, call: None) -> None:
    with app_services.database.session() as session:
        session.add(QueuedCall(call_sid=CALL, caller_number=CALLER, skill="complaint",
                               seat_id="seat-3", status="connected"))
    post(twilio, callback("completed", duration="5"), "/recordings/status?kind=conversation")
    assert rows(app_services)[0].seat_id == "seat-3"


def test_recording_on_the_seat_leg_is_linked_to_the_customer_call(
        twilio: TwilioSigner, app_services: Services, call: None) -> None:
    path = status_callback_path("conversation", seat_id="seat-7", call_sid=CALL)
    post(twilio, callback("in-progress", call=SEAT_LEG), path)
    [recording] = rows(app_services)
    assert (recording.call_sid, recording.leg_call_sid) == (CALL, SEAT_LEG)
    assert recording.caller_number == CALLER


def test_absent_recording_has_no_media_to_fetch(twilio: TwilioSigner, app_services: Services,
                                                call: None) -> None:
    post(twilio, callback("in-progress"))
    post(twilio, callback("absent", ErrorCode="16101"))
    post(twilio, callback("completed"))  # a late, contradicting delivery changes nothing
    [recording] = rows(app_services)
    assert (recording.status, recording.media_state, recording.error_code) == (
        "absent", MediaState.NONE, "16101")
    assert downloads_enqueued(app_services) == 0


def test_failed_recording_raises_an_alert_once(twilio: TwilioSigner, app_services: Services,
                                               call: None) -> None:
    post(twilio, callback("failed"))
    post(twilio, callback("failed"))
    with app_services.database.session() as session:
        alerts = open_alerts(session)
        assert [alert.kind for alert in alerts] == ["provider_failed"]
        assert session.scalar(select(func.count()).select_from(RecordingAlert)) == 1


def test_recording_of_an_attached_call_joins_the_complaint_on_arrival(
        twilio: TwilioSigner, app_services: Services, call: None) -> None:
    with app_services.database.session() as session:
        complaint = Complaint(number="2611230001", query_pin_hash="x", caller_number=CALLER)
        session.add(complaint)
        session.flush()
        assert attach_call_to_complaint(session, CALL, complaint.id, None) == 0
        complaint_id = complaint.id
    post(twilio, callback("completed", duration="9"))
    assert rows(app_services)[0].complaint_id == complaint_id


def test_bad_callbacks_get_a_4xx(twilio: TwilioSigner, app_services: Services) -> None:
    response = twilio.post("/recordings/status?kind=voicemail", {"RecordingSid": "../x"})
    assert response.status_code == 400
    assert rows(app_services) == []


def test_unknown_kind_and_bad_seat_are_tolerated(twilio: TwilioSigner, app_services: Services,
                                                 call: None) -> None:
    post(twilio, callback("completed", duration="3"),
         "/recordings/status?kind=nonsense&seat=%3Cscript%3E")
    [recording] = rows(app_services)
    assert recording.kind == "conversation" and recording.seat_id is None


def test_dial_attributes_record_both_channels_from_answer() -> None:
    url = "https://hotline.example.cn" + status_callback_path("conversation", "seat-7", CALL)
    attributes = dial_recording_attributes(url)
    assert attributes["record"] == "record-from-answer-dual"
    assert attributes["recording_status_callback"].endswith(
        f"/recordings/status?kind=conversation&seat=seat-7&call={CALL}")
    assert set(attributes["recording_status_callback_event"].split()) == {
        "in-progress", "completed", "absent"}
    with pytest.raises(ValueError):
        status_callback_path("conversation", seat_id="seat 7")
