"""The retention policy: media kept ``RECORDINGS_RETENTION_DAYS`` after the complaint is
archived, then deleted; the record, its storage key, size and SHA-256 are kept for good.

A complaint is archived when its ``closed_at`` is set: the complaint workflow sets it on
entering the policy's archive stage and clears it on reopening.

Recordings attached to no complaint are not purged by this policy: whether a recording
becomes evidence may be decided late, and a deletion cannot be undone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from callcenter.db import Database
from handlers.models import Complaint
from recordings.models import MediaState, Recording
from recordings.policy import purge_after
from recordings.storage import RecordingStorage, StorageError

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class Purge:
    recording_sid: str
    storage_key: str
    sha256: str
    complaint_number: str
    archived_at: datetime
    done: bool
    error: str = ""


def expired(database: Database, retention_days: int, now: datetime,
            limit: int = BATCH) -> list[tuple[int, str, str, str, str, datetime]]:
    """Stored recordings whose complaint was archived more than ``retention_days`` ago:
    ``(id, sid, key, sha256, complaint number, archived at)``."""
    cutoff = now - timedelta(days=retention_days)
    with database.session() as session:
        rows = session.execute(
            select(Recording.id, Recording.recording_sid, Recording.storage_key,
                   Recording.sha256, Complaint.number, Complaint.closed_at)
            .join(Complaint, Complaint.id == Recording.complaint_id)
            .where(Recording.media_state == MediaState.STORED,
                   Complaint.closed_at.is_not(None),
                   Complaint.closed_at <= cutoff)
            .order_by(Complaint.closed_at, Recording.id).limit(limit)
        ).all()
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows if r[5] is not None]


def purge_expired(database: Database, storage: RecordingStorage,
                  clock: Callable[[], datetime], retention_days: int, *,
                  dry_run: bool = False, limit: int = BATCH) -> list[Purge]:
    """Delete the media of expired recordings; mark each ``purged`` with the reason."""
    done: list[Purge] = []
    for recording_id, sid, key, sha256, number, archived_at in expired(
            database, retention_days, clock(), limit):
        if purge_after(archived_at, retention_days) > clock():
            continue
        if dry_run:
            done.append(Purge(sid, key, sha256, number, archived_at, done=False))
            continue
        try:
            storage.delete(key)
        except StorageError as exc:
            log.error("could not purge %s (%s): %s", sid, key, exc)
            done.append(Purge(sid, key, sha256, number, archived_at, False, str(exc)))
            continue
        reason = (f"retention: complaint {number} archived {archived_at:%Y-%m-%d}, "
                  f"kept {retention_days} days")
        with database.session() as session:
            session.execute(update(Recording).where(Recording.id == recording_id,
                                                    Recording.media_state == MediaState.STORED)
                            .values(media_state=MediaState.PURGED, purged_at=clock(),
                                    purge_reason=reason))
        log.info("purged %s (%s, sha256 %s): %s", sid, key, sha256, reason)
        done.append(Purge(sid, key, sha256, number, archived_at, done=True))
    return done
