"""Helpers of the recordings tests: real recordings made by real calls, jobs run by real
RQ workers (in-process or as processes), staff with tokens and seats."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import Result
from flask import Flask
from rq import Queue
from rq.job import Job
from sqlalchemy import select

from callcenter.jobs import RECORDINGS, make_worker
from callcenter.localrun import LocalSystem, wait_until
from callcenter.services import Services
from callcenter.settings import Settings
from queues.models import Seat
from recordings.models import MediaState, Recording
from staff.auth import token_hash
from staff.models import Role, Staff
from twilio_standin import CallScript, press, speak

SHANGHAI = ZoneInfo("Asia/Shanghai")
AFTER_HOURS = datetime(2026, 11, 23, 23, 5, tzinfo=SHANGHAI)


def leave_voicemail(system: LocalSystem, caller: str = "+8613800000003",
                    seconds: int = 4) -> Recording:
    """An after-hours call that leaves a voicemail; returns its completed recording."""
    system.set_clock(lambda: AFTER_HOURS)
    result = system.call(caller, CallScript([press("1"), speak(seconds)]))
    assert result.ok, result.render()
    assert wait_until(lambda: _completed(system, caller) is not None)
    recording = _completed(system, caller)
    assert recording is not None
    return recording


def _completed(system: LocalSystem, caller: str) -> Recording | None:
    with system.services.database.session() as session:
        return session.scalar(select(Recording).where(Recording.caller_number == caller,
                                                      Recording.status == "completed"))


def recording(system: LocalSystem, sid: str) -> Recording:
    with system.services.database.session() as session:
        found = session.scalar(select(Recording).where(Recording.recording_sid == sid))
        assert found is not None
        return found


def app_of(system: LocalSystem) -> Flask:
    assert system.app is not None, "the system is not started"
    return system.app


def cli(system: LocalSystem, *args: str) -> Result:
    """Run an ``ivr`` command against the system's app."""
    return app_of(system).test_cli_runner().invoke(args=list(args))


def run_jobs(system: LocalSystem) -> None:
    """Run the recordings queue empty with a real in-process worker."""
    # The worker drops pooled connections on its first job (meant for forked work horses);
    # close them first so that none is dropped while open.
    system.services.database.engine.dispose()
    make_worker(app_of(system), [RECORDINGS], simple=True).work(burst=True)


def release_scheduled(system: LocalSystem) -> int:
    """Move jobs RQ scheduled for later (retries) to the queue now: time passing, as far as
    RQ's scheduler is concerned. Returns how many were moved."""
    services = system.services
    queue = Queue(RECORDINGS, connection=services.redis)
    registry = queue.scheduled_job_registry
    moved = 0
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=services.redis)
        registry.remove(job)
        queue.enqueue_job(job)
        moved += 1
    return moved


def run_with_retries(system: LocalSystem, rounds: int = 10) -> None:
    """Run jobs, then their RQ retries, until nothing is left or scheduled."""
    for _ in range(rounds):
        run_jobs(system)
        if not release_scheduled(system):
            return


def spool_parts(settings: Settings) -> list[Path]:
    spool = Path(settings.recordings_dir) / ".incoming"
    return sorted(spool.glob("*.part")) if spool.is_dir() else []


@dataclass(frozen=True)
class Person:
    staff_id: str
    token: str
    seat_id: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def add_person(services: Services, staff_id: str, role: Role = Role.SEAT,
               seat_id: str | None = None) -> Person:
    token = f"token-of-{staff_id}"
    with services.database.session() as session:
        session.add(Staff(id=staff_id, name=staff_id, role=role, token_hash=token_hash(token)))
        session.flush()
        if seat_id:
            session.add(Seat(id=seat_id, staff_id=staff_id, name=seat_id,
                             reach=f"client:{seat_id}", skills={"complaint": 5}))
    return Person(staff_id, token, seat_id)


def stored(system: LocalSystem, sid: str) -> bool:
    return recording(system, sid).media_state == MediaState.STORED


def children_of(pid: int) -> list[int]:
    """Child process ids (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(part) for part in text.split()]


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
