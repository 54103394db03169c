"""Periodic jobs of the `handlers` package, declared as data (see `callcenter.schedule`)."""

from __future__ import annotations

from callcenter.schedule import PeriodicJob

PERIODIC_JOBS: list[PeriodicJob] = []
