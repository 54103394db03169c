"""Storage backends: local directory and S3-compatible (a moto server started here)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from callcenter.localrun import LocalSystem
from callcenter.settings import Settings
from recordings import downloads
from recordings.models import Integrity, MediaState
from recordings.storage import (
    AlreadyStored,
    LocalStorage,
    RecordingStorage,
    S3Storage,
    StorageError,
)
from recordings.twilio_media import part_path, remove_dead_parts, remove_stale_parts
from staff.models import Role
from tests.recordings.helpers import (
    add_person,
    app_of,
    leave_voicemail,
    recording,
    run_jobs,
    run_with_retries,
)

KEY = f"2026/11/23/CA{'a' * 32}/RE{'b' * 32}.wav"
BODY = bytes(range(256)) * 1000


def spooled(tmp_path: Path, body: bytes = BODY) -> Path:
    source = tmp_path / f"incoming-{len(list(tmp_path.glob('incoming-*')))}.part"
    source.write_bytes(body)
    return source


def exercise(storage: RecordingStorage, tmp_path: Path) -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    assert storage.size(KEY) is None and storage.sha256(KEY) is None
    storage.put(KEY, spooled(tmp_path), digest)
    assert storage.size(KEY) == len(BODY)
    assert storage.sha256(KEY) == (digest, len(BODY))
    assert b"".join(storage.read(KEY)) == BODY
    assert b"".join(storage.read(KEY, 1000, 1999)) == BODY[1000:2000]
    assert b"".join(storage.read(KEY, len(BODY) - 5)) == BODY[-5:]
    with pytest.raises(AlreadyStored):
        storage.put(KEY, spooled(tmp_path, b"other"), hashlib.sha256(b"other").hexdigest())
    assert storage.sha256(KEY) == (digest, len(BODY))  # never overwritten
    storage.delete(KEY)
    storage.delete(KEY)  # deleting what is gone is fine
    assert storage.size(KEY) is None


def test_local_storage(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    exercise(storage, tmp_path)
    storage.put(KEY, spooled(tmp_path), hashlib.sha256(BODY).hexdigest())
    assert (storage.path(KEY).stat().st_mode & 0o777) == 0o440  # evidence is read-only
    with pytest.raises(ValueError):
        storage.path("../outside.wav")


def test_dead_and_stale_spool_files_are_removed(tmp_path: Path) -> None:
    sid = "RE" + "c" * 32
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_part = part_path(tmp_path, sid).with_name(
        ".".join([sid, part_path(tmp_path, sid).name.split(".")[1], dead.stdout.strip(),
                  "0badc0de", "part"]))
    dead_part.write_bytes(b"half a recording")
    other_recording = part_path(tmp_path, "RE" + "d" * 32)
    other_recording.write_bytes(b"someone else's")
    assert remove_dead_parts(tmp_path, sid) == 1
    assert not dead_part.exists() and other_recording.exists()
    assert remove_stale_parts(tmp_path, 3600) == 0
    assert remove_stale_parts(tmp_path, -1) == 1


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3-compatible server on a free local port (moto), with credentials for it."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=5)  # its state outlives servers
    yield endpoint
    server.stop()


def make_bucket(endpoint: str, name: str) -> S3Storage:
    storage = S3Storage(name, endpoint)
    storage.client.create_bucket(Bucket=name)
    return storage


def test_s3_storage(s3_endpoint: str, tmp_path: Path) -> None:
    storage = make_bucket(s3_endpoint, "evidence")
    exercise(storage, tmp_path)
    storage.put(KEY, spooled(tmp_path), hashlib.sha256(BODY).hexdigest())
    head = storage.client.head_object(Bucket="evidence", Key=KEY)
    assert head["Metadata"]["sha256"] == hashlib.sha256(BODY).hexdigest()


class CorruptingStorage(LocalStorage):
    """Stores one flipped byte: a disk or bucket that damages what it is given."""

    def put(self, key: str, source: Path, sha256: str) -> None:
        damaged = source.with_suffix(".damaged")
        data = bytearray(source.read_bytes())
        data[-1] ^= 0xFF
        damaged.write_bytes(bytes(data))
        try:
            super().put(key, damaged, sha256)
        finally:
            damaged.unlink()


def test_a_copy_that_is_not_stored_intact_is_never_recorded(system: LocalSystem) -> None:
    made = leave_voicemail(system)
    root = Path(system.settings.recordings_dir)
    services = system.services
    with pytest.raises(StorageError, match="does not match"):
        downloads.download(system.settings, services.database, CorruptingStorage(root),
                           services.now, made.id)
    failed = recording(system, made.recording_sid)
    assert failed.media_state == MediaState.PENDING and "does not match" in failed.last_error
    # The next attempt finds the damaged object under the key and replaces it.
    assert downloads.download(system.settings, services.database, LocalStorage(root),
                              services.now, made.id) == "stored"
    kept = recording(system, made.recording_sid)
    assert (root / kept.storage_key).read_bytes() == system.standin.recording(
        made.recording_sid).wav_bytes()


def test_recordings_go_to_s3_and_are_served_and_verified_from_there(
        settings: Settings, s3_endpoint: str) -> None:
    s3_settings = replace(settings, recordings_storage="s3", recordings_s3_bucket="hotline",
                          recordings_s3_endpoint_url=s3_endpoint)
    bucket = make_bucket(s3_endpoint, "hotline")
    with LocalSystem(s3_settings, workers=0, time_scale=0.001) as system:
        made = leave_voicemail(system)
        system.standin.faults.recording_media(made.recording_sid, ["truncate"])
        run_jobs(system)
        assert bucket.client.list_objects_v2(Bucket="hotline")["KeyCount"] == 0
        run_with_retries(system)
        kept = recording(system, made.recording_sid)
        assert kept.media_state == MediaState.STORED and kept.storage_backend == "s3"
        original = system.standin.recording(made.recording_sid).wav_bytes()
        assert b"".join(bucket.read(kept.storage_key)) == original
        assert not any(Path(settings.recordings_dir).rglob("*.wav"))
        boss = add_person(system.services, "zhao", Role.SUPERVISOR)
        part = app_of(system).test_client().get(
            f"/api/recordings/{made.recording_sid}/media",
            headers={**boss.headers, "Range": "bytes=10-29"})
        assert part.status_code == 206 and part.data == original[10:30]
        runner = app_of(system).test_cli_runner()
        assert runner.invoke(args=["recordings", "verify"]).exit_code == 0
        bucket.client.put_object(Bucket="hotline", Key=kept.storage_key, Body=b"RIFF forged")
        tampered = runner.invoke(args=["recordings", "verify"])
        assert tampered.exit_code == 1 and "CHANGED" in tampered.output
        assert recording(system, made.recording_sid).integrity == Integrity.CHANGED
