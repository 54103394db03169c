"""Missed deadlines are escalated exactly once: by the scan, by racing workers, after a crash."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from importlib import import_module
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from callcenter.jobs import COMPLAINTS, enqueue
from callcenter.schedule import all_periodic_jobs
from callcenter.services import Services
from callcenter.settings import Settings
from handlers import breaches, clocks, notify
from handlers.jobs import check_deadlines
from handlers.models import Complaint, ComplaintBreach, ComplaintEvent, ComplaintNotification
from handlers.policy import load_default_policy
from tests.handlers.conftest import Api, run_jobs

POLICY = load_default_policy()
ROOT = Path(__file__).resolve().parents[2]


def _overdue_complaint(api: Api, clock) -> str:  # type: ignore[no-untyped-def]
    """Registered Mon 10:00, acknowledged at once; the handover is due at 11:00."""
    number: str = api.create()["number"]
    api.act("seat", number, "deadlines/acknowledge/met", opinion="已短信确认")
    clock.now += timedelta(hours=1, minutes=1)
    return number


def _count(app_services: Services, model: type, **where: object) -> int:
    with app_services.database.session() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(session.scalar(query) or 0)


def _run_check(app: Flask) -> int:
    with app.app_context():
        return check_deadlines()


def test_a_missed_deadline_escalates_once_and_notifies(api: Api, app: Flask, clock,  # type: ignore[no-untyped-def]
                                                       app_services: Services) -> None:
    number = _overdue_complaint(api, clock)
    assert _run_check(app) == 1
    shown = api.show("lead", number)
    assert shown["role"] == "room_lead" and shown["overdue"] is True
    trail = [e for e in api.trail("lead", number) if e["actor"]["kind"] == "system"]
    breach, escalated = trail[0], trail[1]
    assert breach["action"] == "breach" and breach["details"]["deadline"] == "handover"
    assert breach["details"]["due_at"] == "2026-11-23T11:00:00+08:00"
    assert escalated["action"] == "escalated"
    assert escalated["details"] == {"from_role": "first_seat", "to_role": "room_lead",
                                    "reason": "breach of handover"}
    with app_services.database.session() as session:
        told = session.scalars(select(ComplaintNotification.recipient_role).where(
            ComplaintNotification.kind == "breach")).all()
    assert sorted(told) == ["first_seat", "room_lead"]
    for _ in range(3):
        assert _run_check(app) == 0
    assert _count(app_services, ComplaintBreach) == 1
    assert _count(app_services, ComplaintEvent, action="escalated") == 1


def test_the_breach_repeats_every_working_day_up_to_the_plan(api: Api, app: Flask, clock,  # type: ignore[no-untyped-def]
                                                             app_services: Services) -> None:
    number = _overdue_complaint(api, clock)
    assert _run_check(app) == 1
    clock.now = clock.now.replace(day=24, hour=17, minute=59)  # repeat due Tue 18:00
    assert _run_check(app) == 0
    clock.now = clock.now.replace(hour=18, minute=1)
    assert _run_check(app) == 1
    assert api.show("room", number)["role"] == "maintenance_room"
    # A month on: the handover's last two repeats, and the result (48 h) and call-back
    # (72 h) deadlines with their three repeats each; the plan is then used up.
    clock.now += timedelta(days=30)
    assert _run_check(app) == 2 + 4 + 4
    assert _run_check(app) == 0
    assert api.show("gm", number)["role"] == "gm"  # the ceiling: escalations stop there
    with app_services.database.session() as session:
        keys = [b.breach_key for b in session.scalars(
            select(ComplaintBreach).order_by(ComplaintBreach.id))]
    handover = [k for k in keys if k.startswith("accept/handover/")]
    assert [k.rsplit("/", 1)[1] for k in handover] == ["1", "2", "3", "4"]
    at_ceiling = [e for e in api.trail("gm", number) if e["action"] == "breach"
                  and e["details"]["at_ceiling"]]
    assert at_ceiling


def test_racing_workers_act_on_a_breach_once(api: Api, app: Flask, clock,  # type: ignore[no-untyped-def]
                                             app_services: Services) -> None:
    _overdue_complaint(api, clock)
    start = threading.Barrier(6)
    results: list[int] = []

    def worker() -> None:
        start.wait()
        results.append(breaches.check_all(app_services.database, clock.now, POLICY))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 0, 0, 1]
    assert _count(app_services, ComplaintBreach) == 1
    assert _count(app_services, ComplaintEvent, action="escalated") == 1


def test_a_worker_that_read_stale_state_is_stopped_by_the_unique_key(
        api: Api, app: Flask, clock, app_services: Services,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    _overdue_complaint(api, clock)
    assert _run_check(app) == 1
    # As if the handled keys had been read before the first worker committed.
    monkeypatch.setattr(clocks, "handled_breaches", lambda session, complaint_id: frozenset())
    with app_services.database.session() as session:
        complaint_id = session.scalar(select(Complaint.id))
        assert complaint_id is not None
        calendar = POLICY.calendar.calendar()
        assert breaches.apply_due(session, complaint_id, clock.now, POLICY, calendar) == []
    assert _count(app_services, ComplaintEvent, action="escalated") == 1


def test_a_check_that_fails_before_committing_is_done_by_the_next_one(
        api: Api, app: Flask, clock, app_services: Services,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    number = _overdue_complaint(api, clock)
    real = notify.to_roles
    monkeypatch.setattr(notify, "to_roles", lambda *a, **k: 1 / 0)
    assert _run_check(app) == 0
    assert "deadline check of complaint" in caplog.text
    assert _count(app_services, ComplaintBreach) == 0
    assert api.show("seat", number)["role"] == "first_seat"
    monkeypatch.setattr(notify, "to_roles", real)
    assert _run_check(app) == 1
    assert _count(app_services, ComplaintEvent, action="escalated") == 1


def test_a_worker_process_killed_mid_transaction_leaves_the_breach_to_another(
        api: Api, app: Flask, clock, settings: Settings,  # type: ignore[no-untyped-def]
        app_services: Services) -> None:
    _overdue_complaint(api, clock)
    script = (
        "import os, signal\n"
        "from datetime import datetime\n"
        "from app import create_app\n"
        "from callcenter.settings import Settings\n"
        "from handlers import breaches\n"
        "from handlers.policy import load_default_policy\n"
        "app = create_app(Settings.from_env())\n"
        "database = app.extensions['callcenter'].database\n"
        "policy = load_default_policy()\n"
        "session = database.sessionmaker()\n"
        "session.begin()\n"
        f"now = datetime.fromisoformat({clock.now.isoformat()!r})\n"
        "cid = breaches.complaints_due(session, now)[0]\n"
        "done = breaches.apply_due(session, cid, now, policy, policy.calendar.calendar())\n"
        "assert len(done) == 1\n"
        "session.flush()\n"
        "print('acted, not committed', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**settings.to_env(), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    dead = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert dead.returncode == -9, dead.stderr
    assert "acted, not committed" in dead.stdout
    assert _count(app_services, ComplaintBreach) == 0
    assert _run_check(app) == 1
    assert _count(app_services, ComplaintBreach) == 1
    assert _count(app_services, ComplaintEvent, action="escalated") == 1


def test_the_scheduled_check_runs_in_a_real_worker(api: Api, app: Flask, clock,  # type: ignore[no-untyped-def]
                                                   app_services: Services) -> None:
    declared = {job.id: job for job in all_periodic_jobs()}
    job = declared["complaints-sla-check"]
    assert job.queue == COMPLAINTS and job.interval_seconds == 60
    assert "complaints-dispatch" in declared
    number = _overdue_complaint(api, clock)
    module, _, name = job.func.rpartition(".")
    with app.app_context():
        queued = enqueue(app_services, job.queue, getattr(import_module(module), name),
                         timeout=job.timeout_seconds)
    run_jobs(app)
    queued.refresh()
    assert queued.get_status() == "finished" and queued.return_value() == 1
    assert api.show("lead", number)["role"] == "room_lead"


def test_a_paused_clock_does_not_breach_until_it_runs_again(api: Api, app: Flask,  # type: ignore[no-untyped-def]
                                                            clock) -> None:
    number = api.create()["number"]
    api.act("seat", number, "deadlines/acknowledge/met", opinion="ok")
    clock.now += timedelta(minutes=30)
    api.act("seat", number, "pause", reason="等客户资料")
    clock.now += timedelta(days=2)
    assert _run_check(app) == 0
    api.act("seat", number, "resume", opinion="资料已到")
    assert _run_check(app) == 0  # 30 business minutes of the handover hour are left
    clock.now += timedelta(minutes=31)
    assert _run_check(app) >= 1
    assert api.show("lead", number)["role"] != "first_seat"
