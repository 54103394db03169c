"""Where recording media are kept: a local directory (default) or an S3-compatible bucket.

Both backends take a finished, verified local file and make it appear under its key at once
and whole (a hard link in the local directory, a single checksummed PUT in S3): nobody can
ever read a half-written recording under its final name. Keys are built here from dates and
Twilio SIDs only, never from anything a person typed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from callcenter.settings import Settings

CHUNK = 64 * 1024
_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")
_KEY = re.compile(r"^\d{4}/\d{2}/\d{2}/[A-Za-z0-9]{2,64}/[A-Za-z0-9]{2,64}\.(wav|mp3)$")
FILE_MODE = 0o440  # evidence is never rewritten in place
DIR_MODE = 0o750


class StorageError(Exception):
    """The store failed (I/O error, bucket unreachable); the operation may be retried."""


class AlreadyStored(StorageError):
    """An object already exists under the key; it is left untouched."""


def storage_key(started_at: datetime, zone: ZoneInfo, call_sid: str, recording_sid: str,
                media_format: str) -> str:
    """``YYYY/MM/DD/<call sid>/<recording sid>.<format>``, the date in the call center's zone."""
    if not (_SID.match(call_sid) and _SID.match(recording_sid)):
        raise ValueError(f"not Twilio SIDs: {call_sid!r}, {recording_sid!r}")
    if media_format not in ("wav", "mp3"):
        raise ValueError(f"unknown media format {media_format!r}")
    day = started_at.astimezone(zone)
    return f"{day:%Y/%m/%d}/{call_sid}/{recording_sid}.{media_format}"


def check_key(key: str) -> str:
    """Refuse any key this module did not build (no ``..``, no absolute paths)."""
    if not _KEY.match(key):
        raise ValueError(f"not a recording storage key: {key!r}")
    return key


def sha256_of_chunks(chunks: Iterator[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class RecordingStorage(Protocol):
    """The storage interface: put once, read (ranges), hash, delete."""

    name: str

    def put(self, key: str, source: Path, sha256: str) -> None:
        """Make ``source`` (complete and verified) appear under ``key``; the caller removes
        ``source`` afterwards. Raises :class:`AlreadyStored` if ``key`` exists."""

    def size(self, key: str) -> int | None:
        """The stored size in bytes, or None when nothing is stored under ``key``."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> Chunks:
        """The bytes ``start..end`` (inclusive; ``end`` None: to the end), in chunks; close
        the result when done with it."""

    def sha256(self, key: str) -> tuple[str, int] | None:
        """SHA-256 and size of what is stored now, or None when nothing is."""

    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""


class LocalStorage:
    """Files under ``root``; keys are relative paths."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, source: Path, sha256: str) -> None:
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
            os.chmod(source, FILE_MODE)
            # link() never replaces an existing file: two downloads of the same recording
            # cannot overwrite each other's copy, and the file appears complete at once.
            os.link(source, target)
            _fsync_dir(target.parent)
        except FileExistsError:
            raise AlreadyStored(key) from None
        except OSError as exc:
            raise StorageError(f"cannot store {key}: {exc}") from exc

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def read(self, key: str, start: int = 0, end: int | None = None) -> Chunks:
        try:
            handle = self.path(key).open("rb")
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc
        return Chunks(_file_chunks(handle, start, end), handle.close)

    def sha256(self, key: str) -> tuple[str, int] | None:
        try:
            with self.path(key).open("rb") as handle:
                return sha256_of_chunks(iter(lambda: handle.read(CHUNK), b""))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc


def _file_chunks(handle: Any, start: int, end: int | None) -> Iterator[bytes]:
    with handle:
        handle.seek(start)
        remaining = None if end is None else end - start + 1
        while remaining is None or remaining > 0:
            chunk = handle.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


class Chunks:
    """An iterator of bytes that releases its file or connection when closed.

    Web servers call ``close()`` on a response body however it ends (served whole, client
    gone, HEAD request never read), so nothing stays open.
    """

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], object]) -> None:
        self._chunks, self._release = chunks, release

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._release()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3Storage:
    """Objects in an S3-compatible bucket; credentials from the usual ``AWS_*`` variables."""

    name = "s3"

    def __init__(self, bucket: str, endpoint_url: str = "", client: Any = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"},
                          connect_timeout=10, read_timeout=60))

    def _errors(self) -> tuple[type[Exception], ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        return BotoCoreError, ClientError

    @staticmethod
    def _code(exc: Exception) -> str:
        response = getattr(exc, "response", None) or {}
        return str(response.get("Error", {}).get("Code", ""))

    def put(self, key: str, source: Path, sha256: str) -> None:
        check_key(key)
        if self.size(key) is not None:
            raise AlreadyStored(key)
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
        try:
            with source.open("rb") as body:
                # One PUT: the object appears whole or not at all, and S3 checks the
                # SHA-256 of what it received against ours before keeping it.
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body,
                                       ChecksumSHA256=checksum, Metadata={"sha256": sha256},
                                       ContentType=_content_type(key))
        except self._errors() as exc:
            raise StorageError(f"cannot store {key} in {self.bucket}: {exc}") from exc

    def size(self, key: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except self._errors() as exc:
            if self._code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(f"cannot read {key} in {self.bucket}: {exc}") from exc
        return int(head["ContentLength"])

    def read(self, key: str, start: int = 0, end: int | None = None) -> Chunks:
        wanted = f"bytes={start}-{'' if end is None else end}"
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=check_key(key),
                                          Range=wanted)["Body"]
        except self._errors() as exc:
            raise StorageError(f"cannot read {key} in {self.bucket}: {exc}") from exc
        return Chunks(body.iter_chunks(CHUNK), body.close)

    def sha256(self, key: str) -> tuple[str, int] | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]
            return sha256_of_chunks(_stream_chunks(body))
        except self._errors() as exc:
            if self._code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(f"cannot read {key} in {self.bucket}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        except self._errors() as exc:
            raise StorageError(f"cannot delete {key} in {self.bucket}: {exc}") from exc


def _stream_chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def content_type(media_format: str) -> str:
    return "audio/mpeg" if media_format == "mp3" else "audio/wav"


def _content_type(key: str) -> str:
    return content_type(key.rpartition(".")[2])


def storage_for(settings: Settings) -> RecordingStorage:
    """The backend ``RECORDINGS_STORAGE`` names (one per process and settings)."""
    return _cached_storage(settings, os.getpid())


@functools.lru_cache(maxsize=8)
def _cached_storage(settings: Settings, pid: int) -> RecordingStorage:
    # Keyed by process too: an S3 client's connection pool must not cross a fork.
    if settings.recordings_storage == "s3":
        return S3Storage(settings.recordings_s3_bucket, settings.recordings_s3_endpoint_url)
    return LocalStorage(Path(settings.recordings_dir))


def spool_dir(settings: Settings) -> Path:
    """Where downloads are written before they are verified: under ``RECORDINGS_DIR`` so
    that, for the local backend, storing is a link within one file system."""
    return Path(settings.recordings_dir) / ".incoming"
