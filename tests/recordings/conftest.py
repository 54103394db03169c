"""Fixtures of the recordings tests: the system over HTTP with the Twilio stand-in, with
worker processes only where a test starts them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callcenter.localrun import LocalSystem
from callcenter.settings import Settings


@pytest.fixture
def system(settings: Settings) -> Iterator[LocalSystem]:
    """App over HTTP and the stand-in; no worker process (tests run jobs in-process or
    start worker processes themselves)."""
    with LocalSystem(settings, workers=0, time_scale=0.001) as running:
        yield running
