"""End-to-end fixtures: the app served over HTTP, the Twilio stand-in, real worker processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callcenter.localrun import LocalSystem
from callcenter.settings import Settings


@pytest.fixture
def system(settings: Settings) -> Iterator[LocalSystem]:
    """The system with one worker process, at the real time of day (set_clock to change)."""
    with LocalSystem(settings, workers=1) as running:
        yield running
