"""Re-hashing stored recordings against the SHA-256 recorded at download.

Run over everything by ``ivr recordings verify`` and over the least recently checked ones by
a periodic job. A missing or changed copy opens an alert; a copy that checks out again
closes it. Each recording is hashed outside any transaction (a large file takes a while)
and its result written in a short one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, nulls_first, select, update

from callcenter.db import Database
from recordings.alerts import AlertKind, raise_alert, resolve_alerts
from recordings.models import Integrity, MediaState, Recording
from recordings.storage import RecordingStorage, StorageError


@dataclass(frozen=True)
class Check:
    """The outcome of re-hashing one stored recording."""

    recording_sid: str
    storage_key: str
    outcome: Integrity
    expected_sha256: str
    expected_size: int | None
    found_sha256: str = ""
    found_size: int | None = None
    error: str = ""

    def describe(self) -> str:
        if self.outcome is Integrity.OK:
            return f"{self.recording_sid}  ok       {self.storage_key}"
        if self.outcome is Integrity.MISSING:
            return (f"{self.recording_sid}  MISSING  {self.storage_key}  (expected sha256 "
                    f"{self.expected_sha256}, {self.expected_size} bytes){self._error()}")
        return (f"{self.recording_sid}  CHANGED  {self.storage_key}  (expected sha256 "
                f"{self.expected_sha256}, {self.expected_size} bytes; found "
                f"{self.found_sha256}, {self.found_size} bytes)")

    def _error(self) -> str:
        return f"; {self.error}" if self.error else ""


@dataclass
class VerifyReport:
    checks: list[Check] = field(default_factory=list)
    # Recordings without a stored copy, by media state (pending, gave_up, purged, ...).
    not_stored: Counter[str] = field(default_factory=Counter)
    not_stored_sids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def problems(self) -> list[Check]:
        return [check for check in self.checks if check.outcome is not Integrity.OK]

    def count(self, outcome: Integrity) -> int:
        return sum(1 for check in self.checks if check.outcome is outcome)


def check_one(storage: RecordingStorage, recording_sid: str, key: str, sha256: str,
              size: int | None) -> Check:
    """Re-hash one stored copy (no database access)."""
    try:
        found = storage.sha256(key)
    except StorageError as exc:
        return Check(recording_sid, key, Integrity.MISSING, sha256, size, error=str(exc))
    if found is None:
        return Check(recording_sid, key, Integrity.MISSING, sha256, size)
    if found != (sha256, size):
        return Check(recording_sid, key, Integrity.CHANGED, sha256, size, found[0], found[1])
    return Check(recording_sid, key, Integrity.OK, sha256, size, found[0], found[1])


def _record(database: Database, recording_id: int, check: Check, now: datetime) -> None:
    with database.session() as session:
        values: dict[str, object] = {"integrity": check.outcome, "checked_at": now}
        if check.outcome is Integrity.OK:
            values["verified_at"] = now
        session.execute(update(Recording).where(Recording.id == recording_id,
                                                Recording.media_state == MediaState.STORED)
                        .values(**values))
        if check.outcome is Integrity.OK:
            resolve_alerts(session, recording_id, [AlertKind.MISSING, AlertKind.CHANGED], now)
        else:
            kind = AlertKind.MISSING if check.outcome is Integrity.MISSING else AlertKind.CHANGED
            raise_alert(session, recording_id, kind, check.describe(), now)


def verify(database: Database, storage: RecordingStorage, clock: Callable[[], datetime], *,
           recording_sids: Iterable[str] = (), limit: int | None = None) -> VerifyReport:
    """Re-hash stored recordings (all, the given SIDs, or the ``limit`` least recently
    checked) and record each outcome; also count the recordings that have no stored copy."""
    wanted = list(recording_sids)
    query = select(Recording.id, Recording.recording_sid, Recording.storage_key,
                   Recording.sha256, Recording.size_bytes).where(
        Recording.media_state == MediaState.STORED)
    if wanted:
        query = query.where(Recording.recording_sid.in_(wanted))
    query = query.order_by(nulls_first(Recording.checked_at.asc()), Recording.id)
    if limit is not None:
        query = query.limit(limit)
    report = VerifyReport()
    with database.session() as session:
        rows = session.execute(query).all()
        if limit is None:
            others = select(Recording.media_state, Recording.recording_sid).where(
                Recording.media_state != MediaState.STORED)
            if wanted:
                others = others.where(Recording.recording_sid.in_(wanted))
            for state, sid in session.execute(others.order_by(Recording.id)):
                report.not_stored[state] += 1
                report.not_stored_sids.setdefault(state, []).append(sid)
    for recording_id, sid, key, sha256, size in rows:
        check = check_one(storage, sid, key, sha256, size)
        _record(database, recording_id, check, clock())
        report.checks.append(check)
    return report


def outstanding(database: Database) -> int:
    """How many recordings are still being recorded or waiting for their download."""
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Recording).where(
            Recording.media_state.in_([MediaState.WAITING, MediaState.PENDING]))) or 0)


def wait_for_downloads(database: Database, timeout: float, interval: float = 0.2) -> bool:
    """Block until no download is outstanding (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while outstanding(database):
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True
