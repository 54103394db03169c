"""A complaint from call to archive through the whole local system.

The caller phones the hotline through the Twilio stand-in and waits for a seat; the seat's
client registers the complaint over HTTP and has the number and PIN told to the caller; a
worker process sends the acknowledgment SMS. Under a frozen clock the first deadline is
missed and the SLA check escalates it; the room lead resolves it; the worker places the
call-back survey, the caller rates it low and it reopens one step higher; resolved again,
the second call-back is rated well and the complaint is archived.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import select

from callcenter.localrun import HOTLINE_NUMBER, LocalSystem, wait_until
from handlers.jobs import check_deadlines
from handlers.lookup import complaint_by_number_and_pin
from handlers.models import Complaint
from ivr.flow import spell_digits
from queues.holding import queue_name
from staff.auth import token_hash
from staff.models import Staff
from twilio_standin import CallScript, hangup, press, wait

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI)
CALLER = "+8613812345678"
PEOPLE = {"seat": ("s001", "王小明", "first_seat"), "lead": ("r001", "张室长", "room_lead"),
          "room": ("m001", "赵维护", "maintenance_room"),
          "supervisor": ("v001", "周值班长", "supervisor")}


class Seats:
    """The people's clients, calling the complaint API over HTTP."""

    def __init__(self, system: LocalSystem) -> None:
        self.base = system.local_url
        with system.services.database.session() as session:
            for who, (staff_id, name, role) in PEOPLE.items():
                session.add(Staff(id=staff_id, name=name, role=role,
                                  token_hash=token_hash(f"token-{who}"), active=True))

    def __call__(self, who: str, method: str, path: str, body: Any = None,
                 expect: int = 200) -> Any:
        answer = requests.request(method, self.base + path, json=body, timeout=30,
                                  headers={"Authorization": f"Bearer token-{who}"})
        assert answer.status_code == expect, (answer.status_code, answer.text)
        return answer.json()

    def advance(self, who: str, number: str, opinion: str, result: str = "") -> Any:
        return self(who, "POST", f"/api/complaints/{number}/advance",
                    {"opinion": opinion, "result": result})


def _complaint(system: LocalSystem, number: str) -> Complaint:
    with system.services.database.session() as session:
        found = session.scalar(select(Complaint).where(Complaint.number == number))
        assert found is not None
        return found


def test_complaint_call_escalated_reopened_by_the_survey_and_closed(
        system: LocalSystem) -> None:
    system.set_clock(lambda: MONDAY)
    seats = Seats(system)

    # The call: key 2, then waiting for a seat while the seat fills in the form.
    call = system.standin.start_call(CALLER, HOTLINE_NUMBER,
                                     CallScript([press("2"), wait(3600), hangup()]))
    assert system.standin.wait_for_queue(queue_name("complaint"), 1, timeout=20)
    made = seats("seat", "POST", "/api/complaints", {
        "call_sid": call.sid, "contact_name": "陈先生", "subject": "宽带多扣月费",
        "description": "11月账单多扣 30 元", "demands": ["refund"], "class": "class_1",
        "level": "L1", "urgency": "normal", "announce": True}, expect=201)
    number, pin = made["number"], made["pin"]
    assert made["announced"] is True and made["caller_number"] == CALLER
    assert "main:dtmf:2" in made["menu_path"]
    heard = call.wait(60)
    said = " ".join(heard.said())
    assert f"投诉编号：{spell_digits(number)}" in said, heard.render()
    assert f"查询密码：{spell_digits(pin)}" in said
    with system.services.database.session() as session:
        assert complaint_by_number_and_pin(session, system.settings.secret_key, number, pin)

    # The acknowledgment SMS, sent by the worker process, meets its deadline.
    assert wait_until(lambda: any(number in m.body for m in system.standin.messages), 30)
    sms = [m for m in system.standin.messages if number in m.body][0]
    assert sms.to == CALLER and pin not in sms.body
    assert wait_until(lambda: any(
        e["action"] == "acknowledged"
        for e in seats("supervisor", "GET", f"/api/complaints/{number}/trail")["trail"]), 30)

    # The handover hour passes without the ticket being passed on: escalated once.
    system.set_clock(lambda: MONDAY + timedelta(hours=1, minutes=1))
    with system.app.app_context():  # type: ignore[union-attr]
        assert check_deadlines() == 1
        assert check_deadlines() == 0
    assert _complaint(system, number).role == "room_lead"

    # The room lead resolves it; the survey call follows, and the caller is not satisfied.
    unhappy = system.standin.expect_call(CALLER, CallScript([press("2")]))
    seats.advance("lead", number, "室负责人接手,转核实")
    seats.advance("lead", number, "核实属实")
    seats.advance("lead", number, "同意退款", result="已退还多扣的三十元")
    survey = unhappy.wait(60)
    heard_survey = " ".join(survey.said())
    assert "已退还多扣的三十元" in heard_survey and "重新处理" in heard_survey, survey.render()
    assert wait_until(lambda: _complaint(system, number).stage == "reopen", 20)
    reopened = _complaint(system, number)
    assert reopened.role == "maintenance_room" and reopened.reopen_count == 1

    # Handled again by the maintenance room; this time the caller is satisfied.
    happy = system.standin.expect_call(CALLER, CallScript([press("5")]))
    seats.advance("room", number, "重新核实,另补偿话费", result="已退款并补偿五十元话费")
    assert "感谢您的评价" in " ".join(happy.wait(60).said())
    assert wait_until(lambda: _complaint(system, number).stage == "archive", 20)
    assert _complaint(system, number).closed_at is not None

    trail = seats("supervisor", "GET", f"/api/complaints/{number}/trail")["trail"]
    actions = [e["action"] for e in trail if e["action"] != "viewed"]
    for expected in ("created", "announced", "acknowledged", "breach", "escalated",
                     "callback_placed", "callback_answered", "callback_rated", "reopened",
                     "archived"):
        assert expected in actions, actions
    ratings = [e["details"]["rating"] for e in trail if e["action"] == "callback_rated"]
    assert ratings == [2, 5]
    shown = seats("supervisor", "GET", f"/api/complaints/{number}")
    assert [c["rating"] for c in shown["callbacks"]] == [2, 5]
