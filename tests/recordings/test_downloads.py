"""Downloads from the stand-in with real RQ workers: faults retried until a verified file."""

from __future__ import annotations

import hashlib
import io
import wave
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue
from sqlalchemy import select

from callcenter.jobs import RECORDINGS
from callcenter.localrun import LocalSystem
from callcenter.settings import Settings
from recordings import downloads, policy, twilio_media
from recordings.jobs import sweep_recordings
from recordings.models import Integrity, MediaState, RecordingAlert
from tests.recordings.helpers import (
    app_of,
    leave_voicemail,
    recording,
    release_scheduled,
    run_jobs,
    run_with_retries,
    spool_parts,
)


def stored_file(system: LocalSystem, key: str) -> Path:
    return Path(system.settings.recordings_dir) / key


def test_completed_voicemail_is_stored_verified_and_laid_out_by_date_and_call(
        system: LocalSystem) -> None:
    made = leave_voicemail(system, seconds=4)
    run_jobs(system)
    kept = recording(system, made.recording_sid)
    assert kept.media_state == MediaState.STORED and kept.integrity == Integrity.OK
    assert kept.download_attempts == 1 and kept.verified_at is not None
    original = system.standin.recording(made.recording_sid).wav_bytes()
    path = stored_file(system, kept.storage_key)
    assert path.read_bytes() == original
    assert kept.sha256 == hashlib.sha256(original).hexdigest()
    assert kept.size_bytes == len(original)
    local_day = (kept.started_at or kept.created_at).astimezone(system.settings.zone)
    assert kept.storage_key == (f"{local_day:%Y/%m/%d}/{made.call_sid}/"
                                f"{made.recording_sid}.wav")
    with wave.open(io.BytesIO(path.read_bytes())) as audio:
        assert audio.getnchannels() == 1 and audio.getnframes() == 4 * 8000
    assert spool_parts(system.settings) == []
    assert system.standin.recordings  # Twilio's copy is kept unless the setting says otherwise


@pytest.mark.parametrize("faults", [["500"], ["truncate"], ["reset"],
                                    ["500", "timeout", "truncate", "reset"]])
def test_failed_downloads_are_retried_until_a_verified_file_exists(
        system: LocalSystem, faults: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(twilio_media, "READ_TIMEOUT", 0.5)
    system.standin.faults.hang_seconds = 10
    made = leave_voicemail(system)
    system.standin.faults.recording_media(made.recording_sid, faults)
    run_jobs(system)
    failed = recording(system, made.recording_sid)
    assert failed.media_state == MediaState.PENDING and failed.last_error
    assert not any(Path(system.settings.recordings_dir).rglob("*.wav"))
    assert spool_parts(system.settings) == []  # a failed attempt leaves nothing behind
    run_with_retries(system)
    kept = recording(system, made.recording_sid)
    assert kept.media_state == MediaState.STORED, kept.last_error
    assert kept.download_attempts == len(faults) + 1
    assert stored_file(system, kept.storage_key).read_bytes() == system.standin.recording(
        made.recording_sid).wav_bytes()
    assert system.standin.faults.pending(made.recording_sid) == []
    assert spool_parts(system.settings) == []


def test_the_sweep_takes_over_when_rq_retries_are_exhausted(system: LocalSystem) -> None:
    made = leave_voicemail(system)
    failures = policy.RQ_RETRIES + 2
    system.standin.faults.recording_media(made.recording_sid, ["500"] * failures)
    run_with_retries(system)
    waiting = recording(system, made.recording_sid)
    assert waiting.media_state == MediaState.PENDING
    assert waiting.download_attempts == policy.RQ_RETRIES + 1
    queue = Queue(RECORDINGS, connection=system.services.redis)
    assert queue.count == 0 and len(queue.failed_job_registry) == 1
    due = waiting.next_attempt_at
    assert due is not None
    system.set_clock(lambda: due - timedelta(seconds=1))
    assert sweep(system)["downloads_enqueued"] == 0  # not due yet
    system.set_clock(lambda: due + policy.SWEEP_GRACE)
    assert sweep(system)["downloads_enqueued"] == 1
    run_with_retries(system)
    kept = recording(system, made.recording_sid)
    assert kept.media_state == MediaState.STORED
    assert kept.download_attempts == failures + 1


def test_the_sweep_leaves_an_attempt_in_flight_alone(system: LocalSystem) -> None:
    made = leave_voicemail(system)
    system.services.redis.flushdb()
    due = recording(system, made.recording_sid).next_attempt_at
    assert due is not None
    system.set_clock(lambda: due + policy.SWEEP_GRACE)
    with system.services.database.session() as session:  # what a job does as it starts
        assert downloads._begin(session, system.settings, made.id, due) is not None
    assert sweep(system)["downloads_enqueued"] == 0
    system.set_clock(lambda: due + policy.STALE_AFTER)
    assert sweep(system)["downloads_enqueued"] == 1
    run_jobs(system)
    assert recording(system, made.recording_sid).media_state == MediaState.STORED


def test_a_redis_that_lost_its_jobs_does_not_lose_a_download(system: LocalSystem) -> None:
    made = leave_voicemail(system)
    system.services.redis.flushdb()
    run_jobs(system)
    assert recording(system, made.recording_sid).media_state == MediaState.PENDING
    later = recording(system, made.recording_sid).created_at + timedelta(minutes=5)
    system.set_clock(lambda: later)
    assert sweep(system)["downloads_enqueued"] == 1
    assert sweep(system)["downloads_enqueued"] == 1  # enqueued twice...
    run_jobs(system)
    kept = recording(system, made.recording_sid)
    assert kept.media_state == MediaState.STORED and kept.download_attempts == 1  # ...one copy


def test_downloads_give_up_only_after_a_long_time_and_raise_an_alert(
        system: LocalSystem) -> None:
    made = leave_voicemail(system)
    system.standin.faults.recording_media(made.recording_sid, ["500"] * 3)
    since = recording(system, made.recording_sid).download_since
    assert since is not None
    system.set_clock(lambda: since + policy.WARN_AFTER)
    run_jobs(system)
    assert _alerts(system) == ["download_failing"]
    assert recording(system, made.recording_sid).media_state == MediaState.PENDING
    system.set_clock(lambda: since + policy.GIVE_UP_AFTER)
    release_scheduled(system)
    run_jobs(system)
    given_up = recording(system, made.recording_sid)
    assert given_up.media_state == MediaState.GAVE_UP and given_up.next_attempt_at is None
    assert _alerts(system) == ["download_failing", "download_gave_up"]
    system.set_clock(lambda: since + policy.GIVE_UP_AFTER + timedelta(days=1))
    assert sweep(system)["downloads_enqueued"] == 0  # no more automatic tries
    result = app_of(system).test_cli_runner().invoke(args=["recordings", "retry",
                                                       made.recording_sid])
    assert "download enqueued" in result.output, result.output
    run_with_retries(system)
    assert recording(system, made.recording_sid).media_state == MediaState.STORED
    assert _alerts(system) == []  # both closed by the successful download


def test_provider_copy_is_deleted_only_after_a_verified_download(settings: Settings) -> None:
    with LocalSystem(replace(settings, recordings_delete_from_provider=True), workers=0,
                     time_scale=0.001) as system:
        made = leave_voicemail(system)
        system.standin.faults.recording_media(made.recording_sid, ["truncate"])
        run_jobs(system)
        assert system.standin.recordings, "deleted before a verified copy existed"
        run_with_retries(system)
        kept = recording(system, made.recording_sid)
        assert kept.media_state == MediaState.STORED
        assert kept.provider_deleted_at is not None
        assert system.standin.recordings == []
        assert stored_file(system, kept.storage_key).is_file()


def sweep(system: LocalSystem) -> dict[str, int]:
    with app_of(system).app_context():
        return sweep_recordings()


def _alerts(system: LocalSystem) -> list[str]:
    with system.services.database.session() as session:
        return sorted(session.scalars(select(RecordingAlert.kind).where(
            RecordingAlert.resolved_at.is_(None))))
