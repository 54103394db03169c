"""Periodic jobs of the `recordings` package, declared as data (see `callcenter.schedule`)."""

from __future__ import annotations

from callcenter.jobs import RECORDINGS
from callcenter.schedule import PeriodicJob

PERIODIC_JOBS: list[PeriodicJob] = [
    # Due and lost downloads, provider deletions, late complaint links, dead spool files.
    PeriodicJob(id="recordings-sweep", func="recordings.jobs.sweep_recordings",
                queue=RECORDINGS, interval_seconds=60, timeout_seconds=300),
    # Media past retention after their complaint was archived (records and hashes kept).
    PeriodicJob(id="recordings-purge", func="recordings.jobs.purge_expired_recordings",
                queue=RECORDINGS, interval_seconds=6 * 3600, timeout_seconds=3600),
    # Rolling re-hash of the least recently checked stored copies.
    PeriodicJob(id="recordings-verify", func="recordings.jobs.verify_recordings_batch",
                queue=RECORDINGS, interval_seconds=3600, timeout_seconds=3600),
]
