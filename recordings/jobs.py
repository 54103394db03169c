"""RQ jobs of the recordings queue, and where they are enqueued.

Jobs take ids and reach the database, storage and Twilio through ``services()``. RQ retries
a failed download a few times (also after its worker died: RQ 2 honours the retries left
both when a work horse dies and when an abandoned job is cleaned from the started registry);
the periodic :func:`sweep_recordings` is the backstop that enqueues every download that is
due and not in flight, so a download survives exhausted retries, lost jobs and a Redis that
was emptied — the database, not Redis, says what is still to fetch.
"""

from __future__ import annotations

import logging
from datetime import datetime

from redis.exceptions import RedisError
from rq import Retry
from rq.job import Job
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callcenter.jobs import RECORDINGS, enqueue
from callcenter.services import Services, services
from ivr.models import CallbackTask
from recordings import downloads, integrity, links, policy, retention
from recordings.callbacks import RecordingFacts, apply_status
from recordings.models import Integrity, MediaState, Recording, RecordingKind
from recordings.storage import spool_dir, storage_for
from recordings.twilio_media import remove_stale_parts

log = logging.getLogger(__name__)

SWEEP_BATCH = 500
VERIFY_BATCH = 200


def enqueue_download(svc: Services, recording_id: int) -> Job:
    """Enqueue one download attempt, retried by RQ on the first back-off delays."""
    return enqueue(svc, RECORDINGS, download_recording, recording_id,
                   retry=Retry(max=policy.RQ_RETRIES, interval=policy.rq_retry_intervals()),
                   timeout=policy.DOWNLOAD_TIMEOUT_SECONDS, result_ttl=86400)


def enqueue_download_quietly(svc: Services, recording_id: int) -> bool:
    """Enqueue, or leave it to the sweep if Redis is unreachable; True if enqueued."""
    try:
        enqueue_download(svc, recording_id)
    except RedisError as exc:
        log.warning("download of recording %s not enqueued (%s); the sweep will", recording_id,
                    exc)
        return False
    return True


def enqueue_provider_deletion(svc: Services, recording_id: int) -> Job:
    return enqueue(svc, RECORDINGS, delete_provider_copy, recording_id,
                   retry=Retry(max=3, interval=[60, 600, 3600]), timeout=120)


def download_recording(recording_id: int) -> str:
    """Job: one attempt to fetch, verify and store a recording; then, if the settings say
    so, delete Twilio's copy. Raises when the attempt failed so that RQ retries it."""
    svc = services()
    outcome = downloads.download(svc.settings, svc.database, storage_for(svc.settings),
                                 svc.now, recording_id)
    if outcome == "stored" and svc.settings.recordings_delete_from_provider:
        try:
            enqueue_provider_deletion(svc, recording_id)
        except RedisError:
            log.warning("deletion of Twilio's copy of %s left to the sweep", recording_id)
    return outcome


def delete_provider_copy(recording_id: int) -> str:
    """Job: delete Twilio's copy of a stored, verified recording."""
    svc = services()
    return downloads.delete_provider_copy(svc.database, storage_for(svc.settings), svc.twilio,
                                          svc.now, recording_id)


def sweep_recordings() -> dict[str, int]:
    """Periodic job: enqueue due downloads and provider deletions, find voicemails whose
    callback never came, attach late recordings to their complaints, clean dead spool files.
    """
    svc = services()
    now = svc.now()
    with svc.database.session() as session:
        attached = links.reconcile_links(session)
        discovered = _discover_lost_voicemails(session, now)
        due = discovered + list(session.scalars(
            select(Recording.id).where(
                Recording.media_state == MediaState.PENDING,
                Recording.next_attempt_at <= now - policy.SWEEP_GRACE,
                or_(Recording.attempt_started_at.is_(None),
                    Recording.attempt_started_at <= now - policy.STALE_AFTER))
            .order_by(Recording.next_attempt_at).limit(SWEEP_BATCH)))
        deletions: list[int] = []
        if svc.settings.recordings_delete_from_provider:
            deletions = list(session.scalars(
                select(Recording.id).where(Recording.media_state == MediaState.STORED,
                                           Recording.integrity == Integrity.OK,
                                           Recording.provider_deleted_at.is_(None))
                .limit(SWEEP_BATCH)))
    enqueued = sum(enqueue_download_quietly(svc, recording_id) for recording_id in due)
    for recording_id in deletions:
        enqueue_provider_deletion(svc, recording_id)
    removed = remove_stale_parts(spool_dir(svc.settings), policy.STALE_AFTER.total_seconds())
    report = {"downloads_enqueued": enqueued, "deletions_enqueued": len(deletions),
              "voicemails_discovered": len(discovered), "links_fixed": attached,
              "spool_files_removed": removed}
    if any(report.values()):
        log.info("recordings sweep: %s", report)
    return report


def _discover_lost_voicemails(session: Session, now: datetime) -> list[int]:
    """Voicemails the IVR saw (a call-back task names the recording) but no callback
    announced: create their record so that they are downloaded like any other."""
    lost = session.execute(
        select(CallbackTask.recording_sid, CallbackTask.call_sid, CallbackTask.caller_number)
        .where(CallbackTask.recording_sid.is_not(None),
               CallbackTask.created_at <= now - policy.LOST_CALLBACK_AFTER,
               ~select(Recording.id).where(
                   Recording.recording_sid == CallbackTask.recording_sid).exists())
        .limit(SWEEP_BATCH)
    ).all()
    found = []
    for recording_sid, call_sid, caller_number in lost:
        assert recording_sid is not None
        outcome = apply_status(session, RecordingFacts(
            recording_sid=recording_sid, call_sid=call_sid, status="completed", url="",
            duration=None, caller_number=caller_number), RecordingKind.VOICEMAIL, now)
        found.append(outcome.recording.id)
        log.warning("voicemail recording %s had no status callback; fetching it", recording_sid)
    return found


def purge_expired_recordings() -> dict[str, int]:
    """Periodic job: delete media past retention, keeping records and hashes."""
    svc = services()
    purged = retention.purge_expired(svc.database, storage_for(svc.settings), svc.now,
                                     svc.settings.recordings_retention_days)
    return {"purged": sum(p.done for p in purged), "failed": sum(not p.done for p in purged)}


def verify_recordings_batch() -> dict[str, int]:
    """Periodic job: re-hash the least recently checked stored recordings."""
    svc = services()
    report = integrity.verify(svc.database, storage_for(svc.settings), svc.now,
                              limit=VERIFY_BATCH)
    return {"checked": len(report.checks), "missing": report.count(Integrity.MISSING),
            "changed": report.count(Integrity.CHANGED)}
