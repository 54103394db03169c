"""Work a web process does beside its requests, on a daemon thread: shipping the call
journal, refreshing what webhooks read from memory instead of from the database.

Started by the first request of each process (gunicorn imports the app in each worker, and
a forked process needs a thread of its own); a task that fails is logged and tried again at
the next interval, never stopping the others.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable

log = logging.getLogger(__name__)

_running: weakref.WeakSet[Upkeep] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """A worker that exits (gunicorn's graceful stop) ships what it journaled first."""
    for upkeep in list(_running):
        upkeep.stop()


class Upkeep:
    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self.tasks: list[tuple[str, Callable[[], object], Callable[[], object]]] = []
        self._pid = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def add(self, name: str, task: Callable[[], object], *,
            last: Callable[[], object] | None = None) -> None:
        """Run ``task`` every interval; when the upkeep stops, ``last`` (default: ``task``)."""
        self.tasks.append((name, task, last or task))

    def ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._loop, args=(self._stop,),
                                            name="upkeep", daemon=True)
            self._thread.start()
            self._pid = os.getpid()
            _running.add(self)

    def run_once(self, *, last: bool = False) -> None:
        for name, task, last_task in self.tasks:
            try:
                (last_task if last else task)()
            except Exception:
                log.exception("upkeep task %r failed; retried in %.1f s", name,
                              self.interval_seconds)

    def _loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval_seconds):
            self.run_once()

    def stop(self) -> None:
        """Stop the thread, then run every task's last run (ships what is left)."""
        thread = self._thread
        if thread is not None and self._pid == os.getpid():
            self._stop.set()
            thread.join(timeout=10)
            self._thread, self._pid = None, 0
            _running.discard(self)
            self.run_once(last=True)
