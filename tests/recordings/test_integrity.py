"""``ivr recordings verify``: every stored copy re-hashed; missing or changed ones reported."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import Result
from sqlalchemy import select, update

from callcenter.localrun import LocalSystem
from recordings.models import Integrity, MediaState, Recording, RecordingAlert
from tests.recordings.helpers import app_of, leave_voicemail, recording, run_jobs


def verify(system: LocalSystem, *args: str) -> Result:
    return app_of(system).test_cli_runner().invoke(
        args=["recordings", "verify", *args])


def two_stored(system: LocalSystem) -> tuple[Recording, Recording]:
    first = leave_voicemail(system, "+8613800000011", seconds=3)
    second = leave_voicemail(system, "+8613800000012", seconds=4)
    run_jobs(system)
    return recording(system, first.recording_sid), recording(system, second.recording_sid)


def path_of(system: LocalSystem, kept: Recording) -> Path:
    return Path(system.settings.recordings_dir) / kept.storage_key


def open_alerts(system: LocalSystem) -> list[tuple[int, str]]:
    with system.services.database.session() as session:
        rows = session.execute(select(RecordingAlert.recording_id, RecordingAlert.kind)
                               .where(RecordingAlert.resolved_at.is_(None)))
        return sorted((recording_id, kind) for recording_id, kind in rows)


def test_verify_passes_when_every_copy_matches_its_hash(system: LocalSystem) -> None:
    first, second = two_stored(system)
    result = verify(system, "--verbose", "--require-complete")
    assert result.exit_code == 0, result.output
    assert f"{first.recording_sid}  ok" in result.output
    assert "2 stored recordings checked: 2 ok, 0 missing, 0 changed" in result.output


def test_verify_detects_tampering_and_a_missing_file(system: LocalSystem) -> None:
    first, second = two_stored(system)
    tampered = path_of(system, first)
    os.chmod(tampered, 0o640)
    data = bytearray(tampered.read_bytes())
    data[100] ^= 0xFF  # one flipped byte, same size
    tampered.write_bytes(bytes(data))
    path_of(system, second).unlink()
    result = verify(system)
    assert result.exit_code == 1
    assert f"{first.recording_sid}  CHANGED  {first.storage_key}" in result.output
    assert f"expected sha256 {first.sha256}" in result.output
    assert f"{second.recording_sid}  MISSING  {second.storage_key}" in result.output
    assert "0 ok, 1 missing, 1 changed" in result.output
    assert recording(system, first.recording_sid).integrity == Integrity.CHANGED
    assert recording(system, second.recording_sid).integrity == Integrity.MISSING
    assert open_alerts(system) == sorted([(first.id, "changed"), (second.id, "missing")])
    # Restoring the original from a backup closes the alert at the next verification.
    system.standin.recording(first.recording_sid)  # Twilio still has it
    tampered.write_bytes(system.standin.recording(first.recording_sid).wav_bytes())
    assert verify(system, first.recording_sid).exit_code == 0
    assert open_alerts(system) == [(second.id, "missing")]


def test_verify_reports_downloads_outstanding_or_given_up(system: LocalSystem) -> None:
    made = leave_voicemail(system)
    result = verify(system)
    assert result.exit_code == 0 and "1 not downloaded yet" in result.output
    strict = verify(system, "--require-complete")
    assert strict.exit_code == 1 and f"{made.recording_sid}  PENDING" in strict.output
    with system.services.database.session() as session:
        session.execute(update(Recording).where(Recording.id == made.id)
                        .values(media_state=MediaState.GAVE_UP))
    given_up = verify(system)
    assert given_up.exit_code == 1 and "1 downloads given up" in given_up.output


def test_verify_can_wait_for_the_downloads(system: LocalSystem) -> None:
    leave_voicemail(system)
    worker = system.start_worker("verify-wait-worker")
    system.workers.append(worker)
    result = verify(system, "--wait", "30", "--require-complete")
    assert result.exit_code == 0, result.output
    assert "1 stored recordings checked: 1 ok" in result.output
