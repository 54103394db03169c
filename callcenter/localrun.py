"""The whole system on one machine: the app served over HTTP, RQ workers, the Twilio stand-in.

Used by ``ivr demo``, ``ivr call``, the end-to-end tests and the benchmarks, so that all of
them exercise the same wiring a real deployment has: signed webhooks over real HTTP, REST
calls through the real ``twilio`` SDK, jobs run by separate worker processes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from callcenter.services import EXTENSION_KEY, Services
from callcenter.settings import Settings
from twilio_standin import CallResult, CallScript, StandIn

HOTLINE_NUMBER = "+864001234567"
PUBLIC_BASE_URL = "https://hotline.example.cn"
ROOT = Path(__file__).resolve().parent.parent


class LocalSystem:
    """Start with ``with LocalSystem(settings) as system: system.call(...)``."""

    def __init__(self, settings: Settings, *, workers: int = 1, time_scale: float = 0.01,
                 worker_queues: tuple[str, ...] = ()) -> None:
        self.base_settings = settings
        self.worker_count = workers
        self.worker_queues = worker_queues
        self.standin = StandIn(account_sid=settings.twilio_account_sid or "AC" + "0" * 32,
                               auth_token=settings.twilio_auth_token or "local-auth-token",
                               time_scale=time_scale)
        self.workers: list[subprocess.Popen[bytes]] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.app: Flask | None = None
        self.settings = settings

    def __enter__(self) -> LocalSystem:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def services(self) -> Services:
        assert self.app is not None, "start() first"
        return self.app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]

    @property
    def local_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        from app import create_app

        self.standin.start()
        self.settings = replace(
            self.base_settings,
            twilio_account_sid=self.standin.account_sid,
            twilio_auth_token=self.standin.auth_token,
            twilio_api_base_url=self.standin.base_url,
            public_base_url=PUBLIC_BASE_URL,
        )
        self.app = create_app(self.settings)
        # One line per request drowns the transcripts; errors are still logged.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="local-app-server")
        self._thread.start()
        self.standin.add_number(
            HOTLINE_NUMBER,
            voice_url=f"{self.local_url}/voice/incoming",
            status_callback=f"{self.local_url}/voice/status",
            fallback_url=f"{self.local_url}/voice/fallback",
            public_base_url=PUBLIC_BASE_URL,
        )
        for n in range(self.worker_count):
            self.workers.append(self.start_worker(f"local-worker-{os.getpid()}-{n}"))

    def worker_env(self) -> dict[str, str]:
        return {**os.environ, **self.settings.to_env(), "PYTHONPATH": str(ROOT)}

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """An ``ivr worker`` process with this system's settings."""
        args = [sys.executable, "-m", "callcenter.cli", "worker", "--name", name]
        for queue in self.worker_queues:
            args += ["--queue", queue]
        return subprocess.Popen(args, env=self.worker_env(), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """Let the web side live at another time (e.g. after hours) — the simulated clock."""
        self.services.clock = clock

    def call(self, from_: str, script: CallScript | None = None, *, to: str = HOTLINE_NUMBER,
             timeout: float | None = 60) -> CallResult:
        return self.standin.call(from_=from_, to=to, script=script, timeout=timeout)

    def stop(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self.workers.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.standin.stop()
        if self.app is not None:
            self.services.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0,
               interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
