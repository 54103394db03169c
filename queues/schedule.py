"""Periodic jobs of the `queues` package, declared as data (see `callcenter.schedule`)."""

from __future__ import annotations

from callcenter.schedule import PeriodicJob

PERIODIC_JOBS: list[PeriodicJob] = []
