"""Simulated time and out-of-band control of a running call.

Each call keeps its own simulated clock: it advances by exactly the simulated seconds the
call spends waiting (a ``<Pause length="5">`` adds 5), so reported durations are exact
whatever the real speed.  Waits really sleep ``seconds × time_scale`` and can be cut short
by a REST redirect or hang-up, by the caller, or by another call (a dequeue, a bridge end);
a cut-short wait advances the clock by the real time spent, scaled back.

All calls of a stand-in share one condition variable, so any change of shared state
(``notify_all``) wakes whoever waits on it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class Interrupt(Exception):
    """Base of the exceptions that stop whatever a call is doing."""


class CallEnded(Interrupt):
    """The call was hung up (by the caller, the REST API, the app, a limit…)."""

    def __init__(self, by: str, reason: str = "") -> None:
        super().__init__(f"hung up by {by}" + (f": {reason}" if reason else ""))
        self.by = by
        self.reason = reason


@dataclass(frozen=True)
class RedirectTarget:
    """Where a REST update sends a live call: a URL or inline TwiML."""

    url: str | None = None
    method: str = "POST"
    twiml: str | None = None


class Redirected(Interrupt):
    """The call was redirected through the REST API."""

    def __init__(self, target: RedirectTarget) -> None:
        super().__init__(f"redirected to {target.url or 'inline TwiML'}")
        self.target = target


class LimitExceeded(Exception):
    """The call hit a safety bound (maximum life, endless loop); ends it with an error."""


class CallControl:
    """A call's simulated clock plus the signals other threads send it."""

    def __init__(self, cond: threading.Condition, time_scale: float) -> None:
        self._cond = cond
        self.time_scale = time_scale
        self.now = 0.0
        self._sleep_real_start: float | None = None
        self._redirect: RedirectTarget | None = None
        self._hangup: CallEnded | None = None
        self.finished = False

    @property
    def cond(self) -> threading.Condition:
        return self._cond

    def live_now(self) -> float:
        """Simulated time including the part of a wait in progress (for other threads)."""
        with self._cond:
            if self._sleep_real_start is None:
                return self.now
            return self.now + (time.monotonic() - self._sleep_real_start) / self.time_scale

    def request_redirect(self, target: RedirectTarget) -> bool:
        """Ask the call to drop what it does and run new TwiML; False if it has ended."""
        with self._cond:
            if self.finished or self._hangup is not None:
                return False
            self._redirect = target
            self._cond.notify_all()
            return True

    def request_hangup(self, by: str, reason: str = "") -> bool:
        """Ask the call to end now; False if it has already ended."""
        with self._cond:
            if self.finished or self._hangup is not None:
                return False
            self._hangup = CallEnded(by, reason)
            self._cond.notify_all()
            return True

    @property
    def hangup_pending(self) -> bool:
        with self._cond:
            return self._hangup is not None

    def check(self) -> None:
        """Raise a pending hang-up or redirect (hang-up wins)."""
        with self._cond:
            self._raise_pending()

    def _raise_pending(self) -> None:
        if self._hangup is not None:
            raise CallEnded(self._hangup.by, self._hangup.reason)
        if self._redirect is not None:
            target, self._redirect = self._redirect, None
            raise Redirected(target)

    def sleep(self, seconds: float, wake: Callable[[], bool] | None = None) -> bool:
        """Wait ``seconds`` simulated seconds; True if ``wake()`` became true first.

        Raises :class:`CallEnded` or :class:`Redirected` when signalled meanwhile.
        """
        seconds = max(0.0, seconds)
        with self._cond:
            start = time.monotonic()
            deadline = start + seconds * self.time_scale
            self._sleep_real_start = start
            try:
                while True:
                    try:
                        self._raise_pending()
                    except Interrupt:
                        self.now += min(seconds, (time.monotonic() - start) / self.time_scale)
                        raise
                    if wake is not None and wake():
                        self.now += min(seconds, (time.monotonic() - start) / self.time_scale)
                        return True
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self.now += seconds
                        return False
                    self._cond.wait(remaining)
            finally:
                self._sleep_real_start = None
