"""Recording media: basic auth, real WAV files, Range requests, fault injection."""

from __future__ import annotations

import io
import wave

import pytest
import requests

from twilio_standin import CallScript, speak

from .conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, NUMBER

AUTH = (ACCOUNT_SID, AUTH_TOKEN)


@pytest.fixture
def recording_url(app, standin) -> str:
    app.twiml("/voice", lambda r, hit: r.record(action="/recorded", timeout=3))
    app.twiml("/recorded", lambda r, hit: r.hangup())
    standin.call(CALLER, NUMBER, CallScript([speak(3)]), timeout=10)
    return app.hits_for("/recorded")[0].form["RecordingUrl"]


def test_media_is_a_mono_wav_of_the_recorded_length(recording_url):
    response = requests.get(recording_url, auth=AUTH, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "audio/x-wav"
    assert int(response.headers["Content-Length"]) == 44 + 3 * 8000 * 2
    with wave.open(io.BytesIO(response.content)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 8000, 2)
        assert wav.getnframes() == 24000
        samples = wav.readframes(100)
    assert any(samples)  # a tone, not silence
    assert requests.get(recording_url + ".wav", auth=AUTH, timeout=5).content == response.content


def test_media_needs_basic_auth(recording_url):
    response = requests.get(recording_url, timeout=5)
    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert requests.get(recording_url, auth=(ACCOUNT_SID, "nope"), timeout=5).status_code == 401


def test_mp3_is_not_available(recording_url):
    response = requests.get(recording_url + ".mp3", auth=AUTH, timeout=5)
    assert response.status_code == 404
    assert response.json()["code"] == 20404


def test_range_requests(recording_url):
    full = requests.get(recording_url, auth=AUTH, timeout=5).content
    part = requests.get(recording_url, auth=AUTH, headers={"Range": "bytes=40-1039"}, timeout=5)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 40-1039/{len(full)}"
    assert part.content == full[40:1040]
    tail = requests.get(recording_url, auth=AUTH, headers={"Range": "bytes=-10"}, timeout=5)
    assert tail.content == full[-10:]
    beyond = requests.get(recording_url, auth=AUTH, headers={"Range": f"bytes={len(full)}-"},
                          timeout=5)
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(full)}"


def test_metadata_and_delete(recording_url, standin, client):
    sid = recording_url.rsplit("/", 1)[1]
    metadata = client.recordings(sid).fetch()
    assert metadata.duration == "3"
    assert metadata.channels == 1
    assert metadata.source == "RecordVerb"
    assert metadata.status == "completed"
    assert client.recordings(sid).delete() is True
    assert requests.get(recording_url, auth=AUTH, timeout=5).status_code == 404
    assert standin.recordings == []


def test_faults_happen_in_order_then_downloads_succeed(recording_url, standin):
    sid = recording_url.rsplit("/", 1)[1]
    standin.faults.hang_seconds = 5.0
    standin.faults.recording_media(sid, ["500", "timeout", "truncate", "reset"])

    assert requests.get(recording_url, auth=AUTH, timeout=5).status_code == 500
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(recording_url, auth=AUTH, timeout=0.3)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(recording_url, auth=AUTH, timeout=5)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(recording_url, auth=AUTH, timeout=5)
    ok = requests.get(recording_url, auth=AUTH, timeout=5)
    assert ok.status_code == 200
    assert len(ok.content) == 44 + 48000
    assert standin.faults.pending(sid) == []


def test_wildcard_faults_apply_to_any_recording(recording_url, standin):
    standin.faults.recording_media("*", ["500"])
    assert requests.get(recording_url, auth=AUTH, timeout=5).status_code == 500
    assert requests.get(recording_url, auth=AUTH, timeout=5).status_code == 200
