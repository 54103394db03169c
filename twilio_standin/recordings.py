"""Recordings and their media: real WAV files generated on the fly.

Media are 8 kHz, 16-bit PCM WAV, mono or two channels for dual recordings, exactly as long
as the recording's (simulated) duration.  Each channel carries a steady tone (440 Hz for the
caller, 660 Hz for the other party) so that audio tools see a non-silent file; periods paused
through the REST API with ``PauseBehavior=silence`` are silent.  Bytes are produced for any
range without building the whole file, so long recordings cost nothing until downloaded.
"""

from __future__ import annotations

import math
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .ids import new_sid, utc_now

SAMPLE_RATE = 8000
SAMPLE_BYTES = 2
HEADER_BYTES = 44
TONES = (440, 660)


class RecordingStatus(StrEnum):
    """Twilio recording statuses (``paused``/``stopped`` only while a call runs)."""

    IN_PROGRESS = "in-progress"
    PAUSED = "paused"
    STOPPED = "stopped"
    PROCESSING = "processing"
    COMPLETED = "completed"
    ABSENT = "absent"
    DELETED = "deleted"


def _second_of_tone(channels: int) -> bytes:
    frames = []
    for i in range(SAMPLE_RATE):
        for ch in range(channels):
            value = int(9000 * math.sin(2 * math.pi * TONES[ch] * i / SAMPLE_RATE))
            frames.append(value)
    return struct.pack(f"<{len(frames)}h", *frames)


_TONE_CACHE: dict[int, bytes] = {}
_TONE_LOCK = threading.Lock()


def tone_second(channels: int) -> bytes:
    """One second of the tone pattern (it repeats exactly every second)."""
    with _TONE_LOCK:
        if channels not in _TONE_CACHE:
            _TONE_CACHE[channels] = _second_of_tone(channels)
        return _TONE_CACHE[channels]


def wav_header(frames: int, channels: int) -> bytes:
    """The 44-byte RIFF/WAVE header of a PCM file with ``frames`` sample frames."""
    block = channels * SAMPLE_BYTES
    data = frames * block
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, SAMPLE_RATE,
                                    SAMPLE_RATE * block, block, 16)
            + b"data" + struct.pack("<I", data))


@dataclass
class Recording:
    """A call recording as the REST API reports it, with its pause/resume history."""

    account_sid: str
    call_sid: str
    source: str
    channels: int
    started_at: float
    start_time: datetime
    sid: str = field(default_factory=lambda: new_sid("RE"))
    date_created: datetime = field(default_factory=utc_now)
    status: RecordingStatus = RecordingStatus.IN_PROGRESS
    duration: int = 0
    error_code: int | None = None
    history: list[tuple[float, str]] = field(default_factory=list)
    silent_spans: list[tuple[float, float]] = field(default_factory=list)
    _skipped: float = 0.0
    _paused_at: float | None = None
    _pause_behavior: str = "silence"

    @property
    def active(self) -> bool:
        return self.status in (RecordingStatus.IN_PROGRESS, RecordingStatus.PAUSED)

    def set_status(self, status: str, now: float, pause_behavior: str = "silence") -> None:
        """Apply a REST status change (paused / in-progress / stopped) at simulated ``now``."""
        self.history.append((now, status))
        if status == RecordingStatus.PAUSED and self._paused_at is None:
            self._paused_at = now
            self._pause_behavior = pause_behavior
            self.status = RecordingStatus.PAUSED
        elif status in (RecordingStatus.IN_PROGRESS, RecordingStatus.STOPPED):
            self._close_pause(now)
            self.status = RecordingStatus(status)

    def _close_pause(self, now: float) -> None:
        if self._paused_at is None:
            return
        if self._pause_behavior == "skip":
            self._skipped += now - self._paused_at
        else:
            offset = self._paused_at - self.started_at - self._skipped
            self.silent_spans.append((offset, offset + now - self._paused_at))
        self._paused_at = None

    def finish(self, now: float, duration: float | None = None) -> None:
        """Close the recording at simulated ``now`` (or with an explicit duration)."""
        stopped_at = next((t for t, s in self.history if s == RecordingStatus.STOPPED), None)
        end = min(now, stopped_at) if stopped_at is not None else now
        self._close_pause(end)
        length = duration if duration is not None else end - self.started_at - self._skipped
        self.duration = int(length + 0.5) if length > 0 else 0
        self.status = RecordingStatus.COMPLETED if self.duration else RecordingStatus.ABSENT

    @property
    def frames(self) -> int:
        return self.duration * SAMPLE_RATE

    @property
    def media_size(self) -> int:
        return HEADER_BYTES + self.frames * self.channels * SAMPLE_BYTES

    def wav_bytes(self) -> bytes:
        """The whole media file (beware: 16 kB per second and channel)."""
        return b"".join(self.iter_media(0, self.media_size - 1))

    def iter_media(self, start: int, end: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
        """Yield the WAV bytes ``start..end`` (inclusive), in chunks."""
        header = wav_header(self.frames, self.channels)
        position = start
        while position <= end:
            stop = min(end + 1, position + chunk)
            yield self._slice(header, position, stop)
            position = stop

    def _slice(self, header: bytes, start: int, stop: int) -> bytes:
        out = bytearray()
        if start < HEADER_BYTES:
            out += header[start:min(stop, HEADER_BYTES)]
            start = HEADER_BYTES
        if start >= stop:
            return bytes(out)
        pattern = tone_second(self.channels)
        lo, hi = start - HEADER_BYTES, stop - HEADER_BYTES
        first = lo % len(pattern)
        reps = (first + (hi - lo)) // len(pattern) + 1
        data = bytearray((pattern * reps)[first:first + (hi - lo)])
        bytes_per_second = len(pattern)
        for begin, finish in self.silent_spans:
            a = max(lo, int(begin * bytes_per_second) // 4 * 4)
            b = min(hi, int(finish * bytes_per_second) // 4 * 4)
            if a < b:
                data[a - lo:b - lo] = bytes(b - a)
        return bytes(out + data)


class RecordingStore:
    """Thread-safe recordings by SID."""

    def __init__(self) -> None:
        self._items: dict[str, Recording] = {}
        self._lock = threading.Lock()

    def add(self, recording: Recording) -> None:
        with self._lock:
            self._items[recording.sid] = recording

    def get(self, sid: str) -> Recording | None:
        with self._lock:
            return self._items.get(sid)

    def delete(self, sid: str) -> bool:
        with self._lock:
            return self._items.pop(sid, None) is not None

    def all(self) -> list[Recording]:
        with self._lock:
            return list(self._items.values())

    def for_call(self, call_sid: str) -> list[Recording]:
        return [r for r in self.all() if r.call_sid == call_sid]
