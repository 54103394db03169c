"""Periodic jobs of the `recordings` package, declared as data (see `callcenter.schedule`)."""

from __future__ import annotations

from callcenter.schedule import PeriodicJob

PERIODIC_JOBS: list[PeriodicJob] = []
