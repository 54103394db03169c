"""Fault injection for recording downloads.

``standin.faults.recording_media("RE…" or "*", ["500", "timeout", "truncate", "reset"])``
makes the next downloads of that media fail in that order, then succeed again:

* ``500`` – an HTTP 500 with a Twilio-shaped JSON error;
* ``timeout`` – the server accepts the request and never answers (until the stand-in
  stops or ``hang_seconds`` pass), so the client's read timeout fires;
* ``truncate`` – full headers (Content-Length of the whole body) but only half the body;
* ``reset`` – the connection is closed at once with a TCP reset, no response at all.

Faults for a specific SID are used before those registered for ``"*"``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from enum import StrEnum


class MediaFault(StrEnum):
    """Ways a recording download can fail."""

    ERROR_500 = "500"
    TIMEOUT = "timeout"
    TRUNCATE = "truncate"
    RESET = "reset"


class Faults:
    """Registry of pending faults; thread-safe."""

    def __init__(self, hang_seconds: float = 30.0) -> None:
        self.hang_seconds = hang_seconds
        self._media: dict[str, deque[MediaFault]] = {}
        self._lock = threading.Lock()
        self.released = threading.Event()

    def recording_media(self, sid: str, faults: Iterable[str | MediaFault]) -> None:
        """Queue faults for the next downloads of a recording (``"*"`` for any)."""
        parsed = [MediaFault(f) for f in faults]
        with self._lock:
            self._media.setdefault(sid, deque()).extend(parsed)

    def take_media(self, sid: str) -> MediaFault | None:
        """The fault for this download, if one is pending (consumes it)."""
        with self._lock:
            for key in (sid, "*"):
                pending = self._media.get(key)
                if pending:
                    return pending.popleft()
        return None

    def pending(self, sid: str = "*") -> list[MediaFault]:
        with self._lock:
            return list(self._media.get(sid, ()))

    def clear(self) -> None:
        with self._lock:
            self._media.clear()
