"""RQ plumbing: queue names, the enqueue helper and the worker that runs jobs in app context.

Jobs are top-level functions taking ids; they reach the database and Twilio through
``callcenter.services.services()`` because the worker pushes an app context around each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask
from rq import Queue, Retry, SimpleWorker, Worker
from rq.job import Job
from rq.worker.base import BaseWorker

from callcenter.services import EXTENSION_KEY, Services

ROUTING = "routing"  # seat decisions and call offers: seconds matter
RECORDINGS = "recordings"  # evidence downloads and checks
COMPLAINTS = "complaints"  # SLA checks, escalations, notifications, surveys
DEFAULT = "default"
QUEUES: tuple[str, ...] = (ROUTING, COMPLAINTS, RECORDINGS, DEFAULT)


def enqueue(
    services: Services, queue_name: str, func: Callable[..., Any], *args: Any,
    job_id: str | None = None, retry: Retry | None = None, timeout: int = 60,
    result_ttl: int = 3600, failure_ttl: int = 7 * 86400,
) -> Job:
    """Enqueue ``func(*args)`` on ``queue_name`` with its timeout, TTLs and retries."""
    if queue_name not in QUEUES:
        raise ValueError(f"unknown queue {queue_name!r}; expected one of {QUEUES}")
    return services.queue(queue_name).enqueue(
        func, *args, job_id=job_id, retry=retry, job_timeout=timeout, result_ttl=result_ttl,
        failure_ttl=failure_ttl,
    )


class _AppContextMixin:
    """Runs each job inside the Flask app's context."""

    flask_app: Flask

    def perform_job(self, job: Job, queue: Queue) -> bool:
        services: Services = self.flask_app.extensions[EXTENSION_KEY]
        if getattr(self, "_db_pid", None) != os.getpid():
            # A forked work horse must not reuse the parent's pooled database connections.
            services.database.engine.dispose(close=False)
            self._db_pid = os.getpid()
        with self.flask_app.app_context():
            return bool(super().perform_job(job, queue))  # type: ignore[misc]


class AppWorker(_AppContextMixin, Worker):
    """The production worker: each job in a forked work horse, killed on timeout."""


class SimpleAppWorker(_AppContextMixin, SimpleWorker):
    """Runs jobs in-process: for tests and benchmarks."""


def make_worker(app: Flask, queue_names: Sequence[str] = QUEUES, name: str | None = None,
                simple: bool = False) -> BaseWorker:
    """A worker on ``queue_names``; ``simple`` runs jobs in-process (tests, benchmarks)."""
    services: Services = app.extensions[EXTENSION_KEY]
    queues = [services.queue(queue_name) for queue_name in queue_names]
    worker_class: type[BaseWorker] = SimpleAppWorker if simple else AppWorker
    worker = worker_class(queues, connection=services.redis, name=name)
    worker.flask_app = app  # type: ignore[attr-defined]
    return worker

