"""Fixtures of the complaint-record tests: people with tokens, a settable clock, API calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from callcenter.services import Services
from staff.auth import token_hash
from staff.models import Staff
from tests.conftest import TwilioSigner, call_params

SH = ZoneInfo("Asia/Shanghai")
# Monday 23 November 2026, in business hours and working hours.
MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=SH)

PEOPLE = {
    "seat": ("s001", "王小明", "first_seat"),
    "seat2": ("s002", "李小红", "first_seat"),
    "lead": ("r001", "张室长", "room_lead"),
    "room": ("m001", "赵维护", "maintenance_room"),
    "deputy": ("d001", "钱副总", "deputy_gm"),
    "gm": ("g001", "孙总", "gm"),
    "supervisor": ("v001", "周值班长", "supervisor"),
}


class Clock:
    """The app's clock, frozen at ``now`` until moved."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app_services: Services, monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock(MONDAY_MORNING)
    monkeypatch.setattr(app_services, "clock", frozen)
    return frozen


@pytest.fixture
def people(app_services: Services) -> dict[str, str]:
    """Active staff of every role; name -> bearer token."""
    tokens = {}
    with app_services.database.session() as session:
        for name, (staff_id, full_name, role) in PEOPLE.items():
            token = f"token-{name}"
            session.add(Staff(id=staff_id, name=full_name, role=role,
                              token_hash=token_hash(token), active=True))
            tokens[name] = token
    return tokens


@dataclass
class Api:
    """The complaint API as the people call it."""

    client: FlaskClient
    tokens: dict[str, str]

    def __call__(self, who: str, method: str, path: str, body: Any = None,
                 expect: int | None = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        response = self.client.open(path, method=method, json=body, headers=headers)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.get_json())
        return response.get_json()

    def create(self, who: str = "seat", **fields: Any) -> Any:
        body = {"caller_number": "+8613800000001", "description": "扣费错误,要求退款",
                "class": "class_1", "level": "L1", "urgency": "normal", **fields}
        return self(who, "POST", "/api/complaints", body, expect=201)

    def act(self, who: str, number: str, action: str, expect: int = 200, **body: Any) -> Any:
        return self(who, "POST", f"/api/complaints/{number}/{action}", body, expect=expect)

    def show(self, who: str, number: str) -> Any:
        return self(who, "GET", f"/api/complaints/{number}")

    def trail(self, who: str, number: str) -> list[dict[str, Any]]:
        return self(who, "GET", f"/api/complaints/{number}/trail")["trail"]  # type: ignore


@pytest.fixture
def api(client: FlaskClient, people: dict[str, str], clock: Clock) -> Api:
    return Api(client, people)


@pytest.fixture
def complaint_call(twilio: TwilioSigner) -> Callable[..., str]:
    """A caller reaches the IVR and has the menu read again (key 9); returns the CallSid.

    Whole complaint calls through the hold queue are in ``tests/e2e/test_complaints.py``.
    """

    def call(from_: str = "+8613800000001", sid: str = "CA" + "c" * 32) -> str:
        params = call_params(call_sid=sid, from_=from_)
        assert twilio.post("/voice/incoming", params).status_code == 200
        answer = twilio.post("/ivr/menu?node=main&attempt=1", {**params, "Digits": "9"})
        assert answer.status_code == 200 and b"<Gather" in answer.data, answer.data
        return sid

    return call


def run_jobs(app: Flask) -> None:
    """Work the queues in this process until they are empty (a real RQ worker, burst).

    The app's worker drops the engine's pool unclosed before its first job, as a forked work
    horse must; in process there is no fork, and the dropped PostgreSQL connections would
    be left to the garbage collector. Marking the pool as this process's own skips that.
    """
    import os

    from callcenter.jobs import make_worker

    worker = make_worker(app, simple=True)
    worker._db_pid = os.getpid()  # type: ignore[attr-defined]
    worker.work(burst=True)
