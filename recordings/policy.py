"""The timing rules of evidence downloads and retention, as pure functions and constants.

Downloads are retried with growing delays for a long time — Twilio keeps a recording until
it is deleted, so there is no hurry to give up, only a duty not to give up silently: after
``WARN_AFTER`` of failures an alert is raised, after ``GIVE_UP_AFTER`` the automatic tries
stop with a second alert, and a person can start them again (``ivr recordings retry``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

# Delays after the 1st, 2nd, ... failed attempt; the last one repeats.
RETRY_DELAYS_SECONDS = (5, 30, 120, 300, 600, 1800, 3600)
# RQ retries the job itself this many times with the first delays; after that (or when RQ
# lost the job: a worker killed, Redis emptied) the periodic sweep enqueues it when due.
RQ_RETRIES = 4
WARN_AFTER = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=7)
# A download job is killed by RQ after this; an attempt started longer ago than
# STALE_AFTER is certainly dead, and the sweep may start another.
DOWNLOAD_TIMEOUT_SECONDS = 1800
STALE_AFTER = timedelta(seconds=DOWNLOAD_TIMEOUT_SECONDS + 120)
# Give a retry RQ scheduled itself this long before the sweep starts one as well.
SWEEP_GRACE = timedelta(minutes=2)
# A voicemail whose recording callback never came is looked up after this long.
LOST_CALLBACK_AFTER = timedelta(minutes=10)


def retry_delay(failed_attempts: int) -> timedelta:
    """How long to wait after the ``failed_attempts``-th failure (1 for the first)."""
    index = min(max(failed_attempts, 1), len(RETRY_DELAYS_SECONDS)) - 1
    return timedelta(seconds=RETRY_DELAYS_SECONDS[index])


def rq_retry_intervals() -> list[int]:
    """The intervals of the RQ ``Retry`` set on each download job: the same schedule."""
    return list(RETRY_DELAYS_SECONDS[:RQ_RETRIES])


def failing_since(first_seen: datetime, now: datetime) -> str:
    """``"ok"``, ``"warn"`` or ``"give_up"`` for a download failing since ``first_seen``."""
    failing_for = now - first_seen
    if failing_for >= GIVE_UP_AFTER:
        return "give_up"
    if failing_for >= WARN_AFTER:
        return "warn"
    return "ok"


def download_due(next_attempt_at: datetime | None, attempt_started_at: datetime | None,
                 now: datetime) -> bool:
    """Whether the sweep should start a download: due past the grace, none in flight.

    ``recordings.jobs.sweep_recordings`` asks exactly this of the database, in SQL.
    """
    if next_attempt_at is None or next_attempt_at > now - SWEEP_GRACE:
        return False
    return attempt_started_at is None or attempt_started_at <= now - STALE_AFTER


def purge_after(archived_at: datetime, retention_days: int) -> datetime:
    """When the media of a complaint archived at ``archived_at`` may be deleted."""
    return archived_at + timedelta(days=retention_days)
