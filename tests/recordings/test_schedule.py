"""The periodic jobs are declared as data, import, and run on a real worker."""

from __future__ import annotations

from importlib import import_module

from rq import Queue
from rq.job import JobStatus

from callcenter.jobs import RECORDINGS, enqueue
from callcenter.localrun import LocalSystem
from callcenter.schedule import all_periodic_jobs
from recordings.schedule import PERIODIC_JOBS
from tests.recordings.helpers import leave_voicemail, recording, run_jobs


def test_periodic_jobs_run_on_the_recordings_queue(system: LocalSystem) -> None:
    made = leave_voicemail(system)
    assert {job.id for job in PERIODIC_JOBS} <= {job.id for job in all_periodic_jobs()}
    jobs = []
    for periodic in PERIODIC_JOBS:
        assert periodic.queue == RECORDINGS
        module, _, name = periodic.func.rpartition(".")
        func = getattr(import_module(module), name)
        jobs.append(enqueue(system.services, periodic.queue, func,
                            timeout=periodic.timeout_seconds))
    run_jobs(system)
    assert [job.get_status(refresh=True) for job in jobs] == [JobStatus.FINISHED] * len(jobs)
    assert recording(system, made.recording_sid).media_state == "stored"
    assert Queue(RECORDINGS, connection=system.services.redis).count == 0
