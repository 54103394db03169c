"""A real ``ivr worker`` process killed in the middle of a download.

The stand-in's ``timeout`` fault holds the media request open, so the kill always lands
while the attempt is in flight with its spool file open. Afterwards there must be no
partial file anywhere, and the download must happen: by RQ's retry when only the work
horse died, by the periodic sweep when the whole worker died and RQ still believes the job
runs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from callcenter.localrun import LocalSystem, wait_until
from recordings import policy
from recordings.jobs import sweep_recordings
from recordings.models import MediaState
from tests.recordings.helpers import (
    app_of,
    children_of,
    kill,
    leave_voicemail,
    recording,
    spool_parts,
)


def _hanging_download(system: LocalSystem) -> tuple[str, subprocess.Popen[bytes], Path]:
    """A voicemail whose download is in flight in a worker process; returns its spool file."""
    system.standin.faults.hang_seconds = 60
    made = leave_voicemail(system, seconds=6)
    system.standin.faults.recording_media(made.recording_sid, ["timeout"])
    worker = system.start_worker("crash-test-worker")
    system.workers.append(worker)  # stopped with the system whatever happens
    assert wait_until(lambda: not system.standin.faults.pending(made.recording_sid)
                      and bool(spool_parts(system.settings)), timeout=30)
    [part] = spool_parts(system.settings)
    return made.recording_sid, worker, part


def _no_partial_file(system: LocalSystem, sid: str) -> None:
    assert spool_parts(system.settings) == []
    [stored] = list(Path(system.settings.recordings_dir).rglob(f"{sid}*"))
    assert stored.name == f"{sid}.wav"
    assert stored.read_bytes() == system.standin.recording(sid).wav_bytes()


def test_work_horse_killed_mid_download_is_retried_by_rq(system: LocalSystem) -> None:
    sid, _worker, part = _hanging_download(system)
    horse = int(part.name.split(".")[2])  # the spool file names the process writing it
    kill(horse)
    assert wait_until(lambda: recording(system, sid).media_state == MediaState.STORED,
                      timeout=policy.RETRY_DELAYS_SECONDS[0] + 30)
    kept = recording(system, sid)
    assert kept.download_attempts == 2 and kept.sha256
    _no_partial_file(system, sid)


def test_whole_worker_killed_mid_download_is_recovered_by_the_sweep(
        system: LocalSystem) -> None:
    sid, worker, _part = _hanging_download(system)
    for pid in children_of(worker.pid):  # the work horse and the worker's scheduler
        kill(pid)
    worker.kill()
    worker.wait()
    dead = recording(system, sid)
    assert dead.media_state == MediaState.PENDING
    assert dead.attempt_started_at is not None and dead.next_attempt_at is not None
    replacement = system.start_worker("crash-test-replacement")
    system.workers.append(replacement)
    # Time passes (the worker's clock is the real one, the web side's was set for the
    # after-hours voicemail): the attempt is now certainly dead, and the download due.
    later = max(dead.attempt_started_at, dead.next_attempt_at) + policy.STALE_AFTER
    system.set_clock(lambda: later)
    with app_of(system).app_context():
        report = sweep_recordings()
    assert report["downloads_enqueued"] == 1
    assert wait_until(lambda: recording(system, sid).media_state == MediaState.STORED,
                      timeout=30)
    assert recording(system, sid).download_attempts == 2
    _no_partial_file(system, sid)
