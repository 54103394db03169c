"""One download attempt of a recording, and the deletion of Twilio's copy after it.

An attempt is recorded before it starts (attempt count, start time), so that a worker killed
mid-transfer still leaves a trace the sweep can act on. It then fetches into the spool
directory, verifies, stores under the final key in one step, re-hashes the stored copy and
only then marks the recording ``stored`` with its SHA-256. Every step is safe to repeat:
two attempts racing for the same recording store one copy and one record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from callcenter.db import Database
from callcenter.settings import Settings
from recordings import policy
from recordings.alerts import AlertKind, raise_alert, resolve_alerts
from recordings.models import Integrity, MediaState, Recording
from recordings.storage import (
    AlreadyStored,
    RecordingStorage,
    StorageError,
    spool_dir,
    storage_key,
)
from recordings.twilio_media import (
    DownloadError,
    Fetched,
    fetch_media,
    media_url,
    remove_dead_parts,
)

log = logging.getLogger(__name__)

DEFAULT_FORMAT = "wav"  # lossless: the evidence as Twilio recorded it


@dataclass(frozen=True)
class Attempt:
    recording_id: int
    recording_sid: str
    key: str
    url: str
    media_format: str


def download(settings: Settings, database: Database, storage: RecordingStorage,
             clock: Callable[[], datetime], recording_id: int) -> str:
    """Make one attempt to store the recording's media; returns what happened.

    Raises :class:`DownloadError` or :class:`StorageError` when the attempt failed, after
    recording the failure (and any alert) — the caller's retry takes it from there.
    """
    with database.session() as session:
        attempt = _begin(session, settings, recording_id, clock())
    if attempt is None:
        return "nothing to do"
    spool = spool_dir(settings)
    spool.mkdir(parents=True, exist_ok=True)
    remove_dead_parts(spool, attempt.recording_sid)
    try:
        fetched = fetch_media(attempt.url, (settings.twilio_account_sid,
                                            settings.twilio_auth_token),
                              spool, attempt.recording_sid, attempt.media_format)
        try:
            _store(storage, attempt.key, fetched)
        finally:
            fetched.path.unlink(missing_ok=True)
        stored = storage.sha256(attempt.key)
        if stored != (fetched.sha256, fetched.size):
            raise StorageError(f"the stored copy of {attempt.key} does not match the download")
    except (DownloadError, StorageError) as exc:
        with database.session() as session:
            _fail(session, recording_id, str(exc), clock())
        raise
    with database.session() as session:
        now = clock()
        result = session.execute(
            update(Recording)
            .where(Recording.id == recording_id, Recording.media_state == MediaState.PENDING)
            .values(media_state=MediaState.STORED, media_format=fetched.media_format,
                    storage_backend=storage.name, storage_key=attempt.key,
                    size_bytes=fetched.size, sha256=fetched.sha256, downloaded_at=now,
                    integrity=Integrity.OK, checked_at=now, verified_at=now,
                    attempt_started_at=None, next_attempt_at=None, last_error="")
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return "already stored"
        resolve_alerts(session, recording_id, [AlertKind.DOWNLOAD_FAILING,
                                               AlertKind.DOWNLOAD_GAVE_UP], now)
    log.info("recording %s stored as %s (%d bytes, sha256 %s)", attempt.recording_sid,
             attempt.key, fetched.size, fetched.sha256)
    return "stored"


def _begin(session: Session, settings: Settings, recording_id: int,
           now: datetime) -> Attempt | None:
    recording = session.get(Recording, recording_id, with_for_update=True)
    if recording is None or recording.media_state != MediaState.PENDING:
        return None
    media_format = recording.media_format or DEFAULT_FORMAT
    recording.media_format = media_format
    recording.download_attempts += 1
    recording.attempt_started_at = now
    key = storage_key(recording.started_at or recording.created_at, settings.zone,
                      recording.call_sid, recording.recording_sid, media_format)
    url = media_url(settings, recording.source_url, recording.recording_sid, media_format)
    return Attempt(recording.id, recording.recording_sid, key, url, media_format)


def _store(storage: RecordingStorage, key: str, fetched: Fetched) -> None:
    """Put the copy under ``key``; adopt an identical copy a dead attempt left there."""
    try:
        storage.put(key, fetched.path, fetched.sha256)
    except AlreadyStored:
        found = storage.sha256(key)
        if found == (fetched.sha256, fetched.size):
            return
        # Not yet anybody's evidence (the record is still pending): an unfinished or
        # damaged leftover. Replace it with the verified copy, and say so.
        log.warning("replacing %s: it holds %s, not the verified download", key, found)
        storage.delete(key)
        storage.put(key, fetched.path, fetched.sha256)


def _fail(session: Session, recording_id: int, message: str, now: datetime) -> None:
    recording = session.get(Recording, recording_id, with_for_update=True)
    if recording is None or recording.media_state != MediaState.PENDING:
        return
    recording.attempt_started_at = None
    recording.last_error = message[:512]
    recording.next_attempt_at = now + policy.retry_delay(recording.download_attempts)
    verdict = policy.failing_since(recording.download_since or recording.created_at, now)
    what = (f"recording {recording.recording_sid} of call {recording.call_sid}: "
            f"{recording.download_attempts} download attempts failed, last: {message}")
    if verdict == "give_up":
        recording.media_state = MediaState.GAVE_UP
        recording.next_attempt_at = None
        raise_alert(session, recording.id, AlertKind.DOWNLOAD_GAVE_UP,
                    f"gave up: {what}; retry with `ivr recordings retry "
                    f"{recording.recording_sid}`", now)
    elif verdict == "warn":
        raise_alert(session, recording.id, AlertKind.DOWNLOAD_FAILING, what, now)
    log.warning("download of %s failed (attempt %d): %s", recording.recording_sid,
                recording.download_attempts, message)


def delete_provider_copy(database: Database, storage: RecordingStorage, twilio: object,
                         clock: Callable[[], datetime], recording_id: int) -> str:
    """Delete Twilio's copy, only once ours is stored and re-hashes to its recorded SHA-256.

    Returns what happened; a Twilio error is raised for the caller's retry. ``twilio`` is
    the REST client.
    """
    from twilio.base.exceptions import TwilioRestException

    with database.session() as session:
        recording = session.get(Recording, recording_id)
        if (recording is None or recording.provider_deleted_at is not None
                or recording.media_state != MediaState.STORED
                or recording.integrity != Integrity.OK or not recording.sha256):
            return "nothing to do"
        sid, key = recording.recording_sid, recording.storage_key
        expected = (recording.sha256, recording.size_bytes)
    if storage.sha256(key) != expected:
        return "kept: our copy does not verify"  # `ivr recordings verify` will report it
    try:
        twilio.recordings(sid).delete()  # type: ignore[attr-defined]
        outcome = "deleted"
    except TwilioRestException as exc:
        if exc.status != 404:
            raise
        outcome = "already gone"
    with database.session() as session:
        session.execute(update(Recording).where(Recording.id == recording_id)
                        .values(provider_deleted_at=clock()))
    log.info("Twilio's copy of recording %s: %s", sid, outcome)
    return outcome
