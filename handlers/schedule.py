"""Periodic jobs of complaint handling, declared as data (see ``callcenter.schedule``).

The SLA check acts on every breach due (exactly once each); the dispatcher enqueues survey
calls that have come due and SMS that were never sent or must be tried again.
"""

from __future__ import annotations

from callcenter.jobs import COMPLAINTS
from callcenter.schedule import PeriodicJob

PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob(id="complaints-sla-check", func="handlers.jobs.check_deadlines",
                queue=COMPLAINTS, interval_seconds=60, timeout_seconds=300),
    PeriodicJob(id="complaints-dispatch", func="handlers.jobs.dispatch_due_work",
                queue=COMPLAINTS, interval_seconds=60, timeout_seconds=120),
]
