"""Periodic jobs of the `queues` package, declared as data (see `callcenter.schedule`).

They are the backstop of the event-driven routing: every event normally does its work at
once (and widening and wrap-up ends are scheduled for their exact time), so these only
catch what a lost callback, job or Redis restart left undone.
"""

from __future__ import annotations

from callcenter.jobs import ROUTING
from callcenter.schedule import PeriodicJob

PERIODIC_JOBS: list[PeriodicJob] = [
    # Calls that widened to more seats while waiting; events lost to a worker crash.
    PeriodicJob(id="routing.dispatch", func="queues.jobs.sweep_dispatch", queue=ROUTING,
                interval_seconds=5, timeout_seconds=30),
    # Offers still ringing past the ring timeout (their no-answer callback was lost).
    PeriodicJob(id="routing.stale-offers", func="queues.jobs.sweep_stale_offers",
                queue=ROUTING, interval_seconds=5, timeout_seconds=30),
    # Wrap-ups past their end (their scheduled release was lost).
    PeriodicJob(id="routing.wrap-ups", func="queues.jobs.sweep_wrap_ups", queue=ROUTING,
                interval_seconds=5, timeout_seconds=30),
    # The database against the index: lost enqueue jobs and hang-ups, missing seats.
    PeriodicJob(id="routing.reconcile", func="queues.jobs.sweep_reconcile", queue=ROUTING,
                interval_seconds=60, timeout_seconds=120),
]
