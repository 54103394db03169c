"""RQ plumbing: queue names, the enqueue helper and the worker that runs jobs in app context.

Jobs are top-level functions taking ids; they reach the database and Twilio through
``callcenter.services.services()`` because the worker pushes an app context around each.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any

from flask import Flask
from rq import Queue, Retry, SimpleWorker, Worker
from rq.job import Job
from rq.worker import WorkerStatus
from rq.worker.base import BaseWorker

from callcenter.services import EXTENSION_KEY, Services

log = logging.getLogger(__name__)

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


# Run in the app's context when a worker starts, given its queue names (dotted paths):
# e.g. the routing index is rebuilt from the database if Redis lost it.
WORKER_START_HOOKS: tuple[str, ...] = ("queues.jobs.on_worker_start",)


def run_worker_start_hooks(app: Flask, queue_names: Sequence[str]) -> None:
    """Run every start hook; a failing hook is logged and the worker starts anyway."""
    for path in WORKER_START_HOOKS:
        module_name, _, func_name = path.rpartition(".")
        try:
            with app.app_context():
                getattr(import_module(module_name), func_name)(list(queue_names))
        except Exception:
            log.exception("worker start hook %s failed; the worker starts anyway", path)


class _AppContextMixin:
    """Runs each job inside the Flask app's context, and the start hooks before the first."""

    flask_app: Flask

    def work(self, *args: Any, **kwargs: Any) -> bool:
        self._worker_pid = os.getpid()
        run_worker_start_hooks(self.flask_app, self.queue_names())  # type: ignore[attr-defined]
        return bool(super().work(*args, **kwargs))  # type: ignore[misc]

    def perform_job(self, job: Job, queue: Queue) -> bool:
        services: Services = self.flask_app.extensions[EXTENSION_KEY]
        services.database.forget_parent_connections()
        if os.getpid() != getattr(self, "_worker_pid", os.getpid()):
            # A work horse must not share the Twilio client's keep-alive sockets of its
            # parent, which runs routing jobs itself.
            services.__dict__.pop("twilio", None)
        with self.flask_app.app_context():
            return bool(super().perform_job(job, queue))  # type: ignore[misc]


# Queues whose jobs an AppWorker runs in its own process instead of a forked work horse: a
# fork and fresh connections per job cost tens of milliseconds, too much while a caller
# waits for a seat. These jobs are short and still time out (SIGALRM, in-process).
IN_PROCESS_QUEUES = frozenset({ROUTING})


class AppWorker(_AppContextMixin, Worker):
    """The production worker: each job in a forked work horse, killed on timeout (jobs of
    ``IN_PROCESS_QUEUES`` run in the worker itself)."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        if queue.name not in IN_PROCESS_QUEUES:
            super().execute_job(job, queue)
            return
        self.prepare_execution(job)
        self.perform_job(job, queue)
        self.set_state(WorkerStatus.IDLE)


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

