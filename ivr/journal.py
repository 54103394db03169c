"""The call journal: each webhook appends its step of the call's path to a local file, and a
shipper copies the lines into the database in batches.

A webhook must answer Twilio within milliseconds, and the menu steps are most of the
webhooks a hotline serves. A database transaction, or even one round trip to Redis, costs
more than everything else a menu step does (``bench/webhooks.py`` measures it). An append
to a file costs a microsecond and survives the process that wrote it: the page cache keeps
it, and the file's lock tells a shipper in another process that its writer is gone.

One file per process, ``<dir>/<host>-<pid>-<n>.jsonl``, under an exclusive ``flock`` for as
long as the process writes it. ``ship()`` copies the process's own new lines, then adopts
every file whose lock it can take (its writer died) and ships it whole. Shipping is
idempotent in the database (a call row is written once, a step is keyed by its call and
webhook delivery), so lines shipped twice after a crash change nothing. The directory must
be on the web host's local disk: ``flock`` is what tells a live writer from a dead one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
ROTATE_BYTES = 1024 * 1024  # what a new shipper would ship again after a crash
READ_BYTES = 4 * 1024 * 1024
LINE_VERSION = 1
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # UTC; how SQLAlchemy keeps a datetime in SQLite


_quote = json.encoder.encode_basestring_ascii  # what json.dumps quotes a string with


def _text(value: object, limit: int) -> str:
    return str(value)[:limit]


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to build, once a step
class StepLine:
    """One step of a call's path, with what is needed to open the call's record.

    Encoded as a JSON array, one per line, so that a batch of lines is one JSON document
    the database itself takes apart (``ivr.calls.record_steps``).
    """

    call_sid: str
    request_key: str
    at: datetime
    node: str
    caller_input: str
    outcome: str
    from_number: str
    to_number: str
    direction: str
    after_hours: bool

    def encode(self) -> bytes:
        """The line ``json.dumps`` would write, byte for byte, at half its cost: every
        field is a string quoted by the encoder's own function, or a constant."""
        at = self.at if self.at.tzinfo is UTC else self.at.astimezone(UTC)
        quote = _quote
        return (f"[{LINE_VERSION}, {quote(self.call_sid[:64])}, "
                f"{quote(self.request_key[:64])}, "
                f"{quote(at.isoformat(' ', 'microseconds')[:26])}, "  # TIME_FORMAT, cheaper
                f"{quote(self.node[:32])}, {quote(self.caller_input[:64])}, "
                f"{quote(self.outcome[:64])}, {quote(self.from_number[:32])}, "
                f"{quote(self.to_number[:32])}, {quote(self.direction[:16])}, "
                f"{'true' if self.after_hours else 'false'}]\n").encode()

    @classmethod
    def decode(cls, line: bytes) -> StepLine:
        """Raises ValueError for a line that is not a journal line (e.g. cut by a crash)."""
        try:
            (version, call_sid, request_key, at, node, caller_input, outcome, from_number,
             to_number, direction, after_hours) = json.loads(line)
            moment = datetime.strptime(at, TIME_FORMAT).replace(tzinfo=UTC)
        except (TypeError, ValueError) as error:
            raise ValueError(f"not a journal line: {line[:80]!r}") from error
        if version != LINE_VERSION or not isinstance(after_hours, bool):
            raise ValueError(f"not a version {LINE_VERSION} journal line: {line[:80]!r}")
        return cls(_text(call_sid, 64), _text(request_key, 64), moment, _text(node, 32),
                   _text(caller_input, 64), _text(outcome, 64), _text(from_number, 32),
                   _text(to_number, 32), _text(direction, 16), after_hours)


Apply = Callable[[bytes], None]
"""Writes a batch of encoded lines (a JSON array) to the database and commits."""


def batch_of(lines: list[bytes]) -> bytes:
    return b"[" + b",".join(lines) + b"]"


class _JournalFile:
    """One journal file, open for appending (by its writer) or for shipping (by an adopter)."""

    def __init__(self, path: Path, *, create: bool) -> None:
        flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT | os.O_EXCL if create else 0)
        self.path = path
        self.fd = os.open(path, flags, 0o640)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            raise
        self.shipped = 0  # bytes from the start of the file already in the database
        self.pid = os.getpid()  # the process that holds the lock

    def unshipped(self) -> Iterator[tuple[list[bytes], int]]:
        """Batches of complete lines after ``shipped``, each with the bytes it spans, up to
        the end the file had when called.

        Lines appended meanwhile wait for the next ship: a shipper that chased the writer
        would, under load, ship a line or two per batch, a database round trip each.
        """
        shipped = self.shipped
        end_of_file = self.size()
        while shipped < end_of_file:
            chunk = os.pread(self.fd, min(READ_BYTES, end_of_file - shipped), shipped)
            end = chunk.rfind(b"\n") + 1
            if end == 0 and len(chunk) == READ_BYTES:  # no journal line is that long
                log.error("call journal %s: skipped %d bytes without a line end",
                          self.path.name, len(chunk))
                end = len(chunk)
            if end == 0:
                return
            yield chunk[:end].splitlines(), end
            shipped += end

    def is_still_named(self) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(self.fd).st_ino
        except FileNotFoundError:
            return False

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        os.close(self.fd)  # closing releases the lock, after the name is gone


class CallJournal:
    """The journal of this process: ``append`` on the webhook path, ``ship`` in the background."""

    def __init__(self, directory: str | Path, apply: Apply) -> None:
        self.directory = Path(directory)
        self.apply = apply
        self._file: _JournalFile | None = None
        self._retired: list[_JournalFile] = []
        self._files_opened = 0
        self._write_lock = threading.Lock()
        self._ship_lock = threading.Lock()

    def append(self, line: StepLine) -> None:
        data = line.encode()
        with self._write_lock:
            own = self._own_file() or self._open_own_file()
            os.write(own.fd, data)

    def _own_file(self) -> _JournalFile | None:
        """The file this process writes; None before its first step, and in a forked child
        until its own first step (the parent's file stays the parent's)."""
        own = self._file
        return own if own is not None and own.pid == os.getpid() else None

    def _open_own_file(self) -> _JournalFile:
        self.directory.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        while True:
            self._files_opened += 1
            name = f"{socket.gethostname()}-{pid}-{self._files_opened}{SUFFIX}"
            try:
                self._file = _JournalFile(self.directory / name, create=True)
                return self._file
            except FileExistsError:  # a file left by an earlier process with the same pid
                continue
            except BlockingIOError:
                # Another process's shipper opened the new file in the instant before it was
                # locked, took it for a dead writer's and will remove it (empty): next name.
                continue

    def ship(self) -> int:
        """Copy every line not yet in the database there; the number of lines shipped.

        Called by the upkeep thread every interval, and before a webhook reads the path
        back (voicemail, end of call), so that one process sees its own steps at once.
        """
        with self._ship_lock:
            shipped = self._ship_retired_files() + self._ship_own_file()
            for path in sorted(self.directory.glob(f"*{SUFFIX}")):
                shipped += self._adopt(path)
            return shipped

    def close(self) -> None:
        """The process stops writing: ship, and remove its file if all of it is shipped
        (left behind, it would be shipped again by the next process)."""
        self.ship()
        own = self._own_file()
        with self._write_lock:
            if own is not None and own.shipped == own.size():
                own.remove()
                self._file = None

    def catch_up(self) -> None:
        """``ship()`` before reading a call's path back. A failure is logged, not raised:
        the caller's webhook goes on with the path as the database has it, and the upkeep
        ships the rest later."""
        try:
            self.ship()
        except Exception:
            log.exception("call journal not shipped before reading a path; the upkeep retries")

    def _ship_own_file(self) -> int:
        own = self._own_file()
        if own is None:
            return 0
        shipped = self._ship_file(own)
        if own.shipped >= ROTATE_BYTES:
            with self._write_lock:
                self._open_own_file()  # later appends go to the new file
            self._retired.append(own)  # shipped to its end, then removed
            shipped += self._ship_retired_files()
        return shipped

    def _ship_retired_files(self) -> int:
        """Files this process wrote before its current one: still locked by us, so nobody
        else ships them; a failed last ship is retried here first."""
        self._retired = [f for f in self._retired if f.pid == os.getpid()]  # not a parent's
        shipped = 0
        while self._retired:
            retired = self._retired[0]
            shipped += self._ship_file(retired)
            retired.remove()
            self._retired.pop(0)
        return shipped

    def _adopt(self, path: Path) -> int:
        own = self._file
        if own is not None and path == own.path:
            return 0
        try:
            orphan = _JournalFile(path, create=False)
        except (BlockingIOError, PermissionError):
            return 0  # its writer is alive
        except FileNotFoundError:
            return 0  # shipped and removed by another process meanwhile
        try:
            if not orphan.is_still_named():  # shipped and removed between our open and lock
                os.close(orphan.fd)
                return 0
            shipped = self._ship_file(orphan)
            log.info("call journal %s of a stopped process shipped (%d lines)", path.name,
                     shipped)
        except BaseException:
            os.close(orphan.fd)
            raise
        orphan.remove()
        return shipped

    def _ship_file(self, journal_file: _JournalFile) -> int:
        shipped = 0
        for raw_lines, span in journal_file.unshipped():
            lines = [line for line in raw_lines if line.strip()]
            try:
                if lines:
                    self.apply(batch_of(lines))
            except Exception:
                valid = self._valid_lines(journal_file, lines)
                if len(valid) == len(lines):
                    raise  # the lines are good: the database is not; tried again later
                lines = valid
                if lines:
                    self.apply(batch_of(lines))
            journal_file.shipped += span
            shipped += len(lines)
        return shipped

    @staticmethod
    def _valid_lines(journal_file: _JournalFile, lines: list[bytes]) -> list[bytes]:
        """The batch failed: keep the lines that are journal lines, log the others (a line
        cut by a crash, a damaged file)."""
        valid = []
        for line in lines:
            try:
                valid.append(StepLine.decode(line).encode().rstrip(b"\n"))
            except ValueError as error:
                log.error("call journal %s: skipped %s", journal_file.path.name, error)
        return valid

    def pending_bytes(self) -> int:
        """Bytes of this process's file not yet shipped (for health checks and tests)."""
        own = self._own_file()
        return 0 if own is None else own.size() - own.shipped
