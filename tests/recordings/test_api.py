"""The recordings API: permissions, HTTP ranges for seeking, and the access log."""

from __future__ import annotations

import hashlib

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from callcenter.localrun import LocalSystem
from handlers.models import Complaint
from recordings.links import attach_call_to_complaint, evidence_list
from recordings.models import MediaState, Recording, RecordingAccess, RecordingPause
from staff.models import Role
from tests.recordings.helpers import Person, add_person, app_of, leave_voicemail, run_jobs


@pytest.fixture
def stored(system: LocalSystem) -> Recording:
    """A stored recording taken by seat-7 (the seat of staff member "wang")."""
    made = leave_voicemail(system, seconds=5)
    run_jobs(system)
    with system.services.database.session() as session:
        session.execute(update(Recording).where(Recording.id == made.id)
                        .values(seat_id="seat-7", kind="conversation"))
        found = session.get(Recording, made.id)
        assert found is not None and found.media_state == MediaState.STORED
        return found


@pytest.fixture
def api(system: LocalSystem) -> FlaskClient:
    return app_of(system).test_client()


@pytest.fixture
def people(system: LocalSystem) -> dict[str, Person]:
    services = system.services
    return {
        "wang": add_person(services, "wang", Role.SEAT, "seat-7"),
        "li": add_person(services, "li", Role.SEAT, "seat-8"),
        "zhao": add_person(services, "zhao", Role.SUPERVISOR),
        "chen": add_person(services, "chen", Role.ROOM_LEAD),
    }


def media_bytes(system: LocalSystem, recording: Recording) -> bytes:
    return system.standin.recording(recording.recording_sid).wav_bytes()


def test_the_seat_that_took_the_call_hears_it_whole(
        system: LocalSystem, api: FlaskClient, stored: Recording,
        people: dict[str, Person]) -> None:
    response = api.get(f"/api/recordings/{stored.recording_sid}/media",
                       headers=people["wang"].headers)
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"] == f'"{stored.sha256}"'
    assert response.data == media_bytes(system, stored)
    assert hashlib.sha256(response.data).hexdigest() == stored.sha256


def test_range_requests_let_a_browser_seek(system: LocalSystem, api: FlaskClient,
                                           stored: Recording,
                                           people: dict[str, Person]) -> None:
    whole, url = media_bytes(system, stored), f"/api/recordings/{stored.recording_sid}/media"
    headers = people["wang"].headers
    part = api.get(url, headers={**headers, "Range": "bytes=44-1043"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 44-1043/{len(whole)}"
    assert part.headers["Content-Length"] == "1000" and part.data == whole[44:1044]
    tail = api.get(url, headers={**headers, "Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.data == whole[-100:]
    rest = api.get(url, headers={**headers, "Range": f"bytes={len(whole) - 10}-"})
    assert rest.data == whole[-10:]
    beyond = api.get(url, headers={**headers, "Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(whole)}"
    assert "error" in beyond.get_json()
    several = api.get(url, headers={**headers, "Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.data == whole
    stale = api.get(url, headers={**headers, "Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.data == whole
    current = api.get(url, headers={**headers, "Range": "bytes=0-9",
                                    "If-Range": f'"{stored.sha256}"'})
    assert current.status_code == 206 and current.data == whole[:10]
    download = api.get(url + "?download=1", headers=headers)
    assert download.headers["Content-Disposition"].startswith("attachment;")
    head = api.head(url, headers=headers)  # opens nothing it does not close
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(whole))


def test_an_unrelated_seat_is_refused_and_the_refusal_is_logged(
        system: LocalSystem, api: FlaskClient, stored: Recording,
        people: dict[str, Person]) -> None:
    for path in ("", "/media"):
        response = api.get(f"/api/recordings/{stored.recording_sid}{path}",
                           headers=people["li"].headers)
        assert response.status_code == 403
        assert response.get_json() == {"error": "you may not access this recording"}
    assert api.get(f"/api/recordings/{stored.recording_sid}/media",
                   headers=people["chen"].headers).status_code == 403
    with system.services.database.session() as session:
        log = session.scalars(select(RecordingAccess).order_by(RecordingAccess.id)).all()
        assert [(a.staff_id, a.action, a.allowed) for a in log] == [
            ("li", "metadata", False), ("li", "play", False), ("chen", "play", False)]


def test_every_access_is_logged_with_who_when_which_and_what(
        system: LocalSystem, api: FlaskClient, stored: Recording,
        people: dict[str, Person]) -> None:
    sid = stored.recording_sid
    api.get(f"/api/recordings/{sid}", headers=people["wang"].headers)
    api.get(f"/api/recordings/{sid}/media", headers={**people["wang"].headers,
                                                     "Range": "bytes=100-199"})
    api.get(f"/api/recordings/{sid}/media?download=1", headers=people["zhao"].headers)
    log = api.get(f"/api/recordings/{sid}/log", headers=people["zhao"].headers).get_json()
    assert [(a["staff_id"], a["action"], a["allowed"], a["range"])
            for a in log["accesses"]] == [
        ("wang", "metadata", True, ""), ("wang", "play", True, "bytes=100-199"),
        ("zhao", "download", True, ""), ("zhao", "log", True, "")]
    assert all(a["at"] for a in log["accesses"])
    assert api.get(f"/api/recordings/{sid}/log",
                   headers=people["wang"].headers).status_code == 403


def test_metadata_shows_links_and_the_hash(api: FlaskClient, stored: Recording,
                                           people: dict[str, Person]) -> None:
    body = api.get(f"/api/recordings/{stored.recording_sid}",
                   headers=people["zhao"].headers).get_json()
    assert body["sha256"] == stored.sha256 and body["size_bytes"] == stored.size_bytes
    assert body["seat_id"] == "seat-7" and body["caller_number"] == stored.caller_number
    assert body["call_sid"] == stored.call_sid and body["integrity"] == "ok"
    assert body["media_url"] == f"/api/recordings/{stored.recording_sid}/media"


def test_a_complaint_recording_follows_the_complaint_rule(
        system: LocalSystem, api: FlaskClient, stored: Recording,
        people: dict[str, Person]) -> None:
    with system.services.database.session() as session:
        complaint = Complaint(number="2611230007", query_pin_hash="x", accepted_by="wang",
                              caller_number=stored.caller_number)
        session.add(complaint)
        session.flush()
        assert attach_call_to_complaint(session, stored.call_sid, complaint.id, "wang") == 1
        [evidence] = evidence_list(session, complaint.id)
    assert evidence["sha256"] == stored.sha256 and evidence["recording_sid"] == (
        stored.recording_sid)
    url = f"/api/recordings/{stored.recording_sid}/media"
    assert api.get(url, headers=people["wang"].headers).status_code == 200  # took it
    assert api.get(url, headers=people["zhao"].headers).status_code == 200  # supervisor
    assert api.get(url, headers=people["li"].headers).status_code == 403


def test_bad_requests_get_json_4xx(system: LocalSystem, api: FlaskClient, stored: Recording,
                                   people: dict[str, Person]) -> None:
    headers = people["zhao"].headers
    assert api.get(f"/api/recordings/{stored.recording_sid}").status_code == 401
    assert api.get("/api/recordings/RE0000/media", headers=headers).status_code == 404
    assert api.get("/api/recordings/..%2Fetc/media", headers=headers).status_code == 404
    with system.services.database.session() as session:
        session.execute(update(Recording).where(Recording.id == stored.id)
                        .values(media_state=MediaState.PENDING))
    pending = api.get(f"/api/recordings/{stored.recording_sid}/media", headers=headers)
    assert pending.status_code == 409 and "not stored yet" in pending.get_json()["error"]
    url = f"/api/calls/{stored.call_sid}/recording"
    assert api.post(url, data="x", headers=headers).status_code == 415
    assert api.post(url, json={"action": "stop"}, headers=headers).status_code == 400
    assert api.post(url, json={"action": "pause", "reason": "gossip"},
                    headers=headers).status_code == 400


def test_pausing_a_call_without_a_recording_in_progress_is_refused_and_logged(
        system: LocalSystem, api: FlaskClient, stored: Recording,
        people: dict[str, Person]) -> None:
    url = f"/api/calls/{stored.call_sid}/recording"
    refused = api.post(url, json={"action": "pause", "reason": "payment"},
                       headers=people["li"].headers)
    assert refused.status_code == 403  # not li's call
    ended = api.post(url, json={"action": "pause", "reason": "payment"},
                     headers=people["wang"].headers)
    assert ended.status_code == 409, ended.get_json()
    with system.services.database.session() as session:
        [logged] = session.scalars(select(RecordingPause)).all()
        assert (logged.staff_id, logged.action, logged.reason, logged.outcome) == (
            "wang", "pause", "payment", "no_recording")
