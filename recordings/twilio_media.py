"""Fetching a recording's media from Twilio into a local spool file, verified.

The adapter to Twilio's media URLs: HTTP basic auth with the account's SID and auth token,
streamed to a uniquely named ``.part`` file, hashed on the way, checked (length, WAV or MP3
structure), fsynced and re-hashed from disk. It touches no database; every failure is a
:class:`DownloadError` and leaves no ``.part`` file behind, except when the process itself
is killed — :func:`remove_dead_parts` and :func:`remove_stale_parts` clean those up.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from callcenter.numbers import is_ascii_number
from callcenter.settings import Settings
from callcenter.twilio_client import twilio_host_url
from recordings.media import HEAD_BYTES, InvalidMedia, check_media
from recordings.storage import CHUNK, sha256_of_chunks

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0  # seconds without a byte before the attempt is abandoned
TWILIO_API = "https://api.twilio.com/2010-04-01"
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


class DownloadError(Exception):
    """The media could not be fetched whole this time; the message is for the record."""


@dataclass(frozen=True)
class Fetched:
    """A complete, verified copy in the spool directory, waiting to be stored."""

    path: Path
    sha256: str
    size: int
    media_format: str
    channels: int | None


def media_url(settings: Settings, source_url: str, recording_sid: str, media_format: str) -> str:
    """The address to fetch: Twilio's own (the callback's host if it is Twilio's, so that
    regional accounts work), sent to ``TWILIO_API_BASE_URL`` when one is configured.

    The account's credentials are therefore only ever sent to a Twilio host (or the
    configured stand-in), whatever URL a callback carried.
    """
    parts = urlsplit(source_url)
    host = (parts.hostname or "").lower()
    if (parts.scheme == "https" and host.endswith(".twilio.com")
            and parts.path.rstrip("/").endswith(f"/Recordings/{recording_sid}")):
        base = f"https://{parts.netloc}{parts.path.rstrip('/')}"
    else:
        base = (f"{TWILIO_API}/Accounts/{settings.twilio_account_sid}"
                f"/Recordings/{recording_sid}")
    return twilio_host_url(settings.twilio_api_base_url, f"{base}.{media_format}")


def part_path(spool: Path, recording_sid: str) -> Path:
    """``<sid>.<host>.<pid>.<random>.part``: who wrote it, so the dead can be told apart."""
    return spool / f"{recording_sid}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"


def fetch_media(url: str, auth: tuple[str, str], spool: Path, recording_sid: str,
                media_format: str) -> Fetched:
    """Download ``url`` into the spool directory and verify it; raises DownloadError."""
    spool.mkdir(parents=True, exist_ok=True)
    part = part_path(spool, recording_sid)
    done = False
    try:
        fetched = _fetch(url, auth, part, media_format)
        done = True
        return fetched
    finally:
        if not done:
            part.unlink(missing_ok=True)


def _fetch(url: str, auth: tuple[str, str], part: Path, media_format: str) -> Fetched:
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        # The spool file exists from the start of the attempt: what a killed attempt leaves
        # is always a named .part file, never an anonymous one.
        with part.open("xb") as out, requests.get(
                url, auth=auth, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                headers={"Accept-Encoding": "identity"}) as response:
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code} from {_where(url)}: "
                                    f"{response.text[:200]!r}")
            declared = response.headers.get("Content-Length")
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                if len(head) < HEAD_BYTES:
                    head += chunk[:HEAD_BYTES - len(head)]
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
    except requests.RequestException as exc:
        raise DownloadError(f"{type(exc).__name__} from {_where(url)}: {exc}"[:500]) from exc
    except OSError as exc:
        raise DownloadError(f"cannot write the spool file: {exc}") from exc
    if declared is not None and is_ascii_number(declared) and int(declared) != size:
        raise DownloadError(f"truncated: {size} of {declared} bytes arrived")
    try:
        info = check_media(head, size, media_format)
    except InvalidMedia as exc:
        raise DownloadError(f"not a whole {media_format.upper()} recording: {exc}") from exc
    with part.open("rb") as handle:
        on_disk = sha256_of_chunks(iter(lambda: handle.read(CHUNK), b""))
    if on_disk != (digest.hexdigest(), size):
        raise DownloadError("the spool file differs from the bytes received")
    return Fetched(part, digest.hexdigest(), size, info.media_format, info.channels)


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs; a zombie (killed, not yet reaped) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill()
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def remove_dead_parts(spool: Path, recording_sid: str) -> int:
    """Remove this recording's ``.part`` files left on this host by processes that died.

    A download killed mid-transfer (worker crash, OOM, deploy) cannot clean up after
    itself; the next attempt for the same recording does it. Returns how many were removed.
    """
    removed = 0
    for part in spool.glob(f"{recording_sid}.*.part"):
        fields = part.name.split(".")
        if len(fields) != 5 or fields[1] != _HOST or not is_ascii_number(fields[2]):
            continue
        if not _pid_alive(int(fields[2])) or int(fields[2]) == os.getpid():
            part.unlink(missing_ok=True)
            removed += 1
    return removed


def remove_stale_parts(spool: Path, older_than_seconds: float) -> int:
    """Remove ``.part`` files nobody has written to for a long time (from any host)."""
    if not spool.is_dir():
        return 0
    limit = time.time() - older_than_seconds
    removed = 0
    for part in spool.glob("*.part"):
        try:
            if part.stat().st_mtime < limit:
                part.unlink(missing_ok=True)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
