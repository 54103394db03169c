"""Periodic jobs, declared as data by each package and run by ``ivr scheduler``.

Each job has a stable id, so that several schedulers (one per machine for availability)
register the same jobs instead of multiplying them; RQ's cron scheduler enqueues each due
job once per interval.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis


@dataclass(frozen=True)
class PeriodicJob:
    """Run ``func`` (a dotted path to a top-level function) every ``interval_seconds``."""

    id: str
    func: str
    queue: str
    interval_seconds: int
    timeout_seconds: int = 300


def all_periodic_jobs() -> list[PeriodicJob]:
    from handlers.schedule import PERIODIC_JOBS as COMPLAINT_JOBS
    from queues.schedule import PERIODIC_JOBS as QUEUE_JOBS
    from recordings.schedule import PERIODIC_JOBS as RECORDING_JOBS

    jobs = [*QUEUE_JOBS, *COMPLAINT_JOBS, *RECORDING_JOBS]
    ids = [job.id for job in jobs]
    duplicated = {job_id for job_id in ids if ids.count(job_id) > 1}
    if duplicated:
        raise ValueError(f"periodic job ids used twice: {sorted(duplicated)}")
    return jobs


def run_scheduler(connection: Redis) -> None:
    """Register every periodic job with RQ's cron scheduler and run it (blocks)."""
    from importlib import import_module

    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=connection)
    for job in all_periodic_jobs():
        module_name, _, func_name = job.func.rpartition(".")
        func = getattr(import_module(module_name), func_name)
        scheduler.register(func, job.queue, interval=job.interval_seconds,
                           job_timeout=job.timeout_seconds)
    scheduler.start()
