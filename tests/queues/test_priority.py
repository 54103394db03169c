"""A caller's standing sets their priority when they go on hold (through the IVR menu)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from callcenter.services import Services
from handlers.models import Complaint
from ivr.models import CallbackTask
from queues.models import QueuedCall
from tests.conftest import TwilioSigner, call_params

CALLER = "+8613800000009"
IN_HOURS = datetime(2026, 11, 23, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def complaint(n: int, **fields: object) -> Complaint:
    return Complaint(number=f"26112300{n:02d}", caller_number=CALLER, query_pin_hash="x",
                     **fields)


def priority_after_pressing(twilio: TwilioSigner, app_services: Services, digit: str) -> int:
    twilio.post("/voice/incoming", call_params(From=CALLER))
    root = ET.fromstring(twilio.post("/ivr/menu?node=main&attempt=1",
                                     call_params(From=CALLER, Digits=digit)).data)
    assert root.find("./Enqueue") is not None
    with app_services.database.session() as session:
        queued = session.scalar(select(QueuedCall))
        assert queued is not None
        return queued.priority


@pytest.mark.parametrize(("digit", "standing", "priority"), [
    ("1", [], 100), ("3", [], 150), ("2", [], 200),
    ("2", [{"stage": "verify"}], 300),
    ("2", [{"stage": "archive"}], 200),
    ("2", [{"stage": "handle", "urgency": "urgent"}], 600),
    ("2", [{"stage": "handle", "reopen_count": 1}], 600),
    ("2", [{"stage": "handle"}, {"stage": "archive"}], 600),  # a repeat complainant
    ("1", ["callback"], 300),
])
def test_priority_follows_the_routing_rules(twilio: TwilioSigner, app_services: Services,
                                            monkeypatch: pytest.MonkeyPatch, digit: str,
                                            standing: list[object], priority: int) -> None:
    monkeypatch.setattr(app_services, "clock", lambda: IN_HOURS)
    with app_services.database.session() as session:
        for n, item in enumerate(standing):
            if item == "callback":
                session.add(CallbackTask(call_sid=f"CA{n:032x}", caller_number=CALLER,
                                         reason="voicemail", due_at=IN_HOURS))
            else:
                session.add(complaint(n, created_at=IN_HOURS - timedelta(days=n + 1),
                                      **item))  # type: ignore[arg-type]
    assert priority_after_pressing(twilio, app_services, digit) == priority
