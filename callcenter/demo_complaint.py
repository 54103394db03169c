"""The demo's complaint story: created from a call, escalated past a deadline, closed after
a call-back survey — through the same HTTP API, webhooks and workers a deployment uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import click
import requests

from callcenter.localrun import HOTLINE_NUMBER, LocalSystem, wait_until
from staff.auth import token_hash
from staff.models import Staff
from twilio_standin import CallScript, hangup, press, wait

CALLER = "+8613812345678"
PEOPLE = {"seat": ("s101", "王小明", "first_seat"), "lead": ("r101", "张室长", "room_lead"),
          "room": ("m101", "赵维护", "maintenance_room"),
          "supervisor": ("v101", "周值班长", "supervisor")}


class StaffClient:
    """The staff's client apps, calling the complaint API over HTTP with their tokens."""

    def __init__(self, system: LocalSystem) -> None:
        self.base = system.local_url
        with system.services.database.session() as session:
            for who, (staff_id, name, role) in PEOPLE.items():
                if session.get(Staff, staff_id) is None:
                    session.add(Staff(id=staff_id, name=name, role=role,
                                      token_hash=token_hash(f"demo-token-{who}")))

    def __call__(self, who: str, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(method, self.base + path, json=body, timeout=30,
                                  headers={"Authorization": f"Bearer demo-token-{who}"})
        if answer.status_code >= 400:
            raise click.ClickException(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json()


def run_complaint_story(system: LocalSystem, monday_morning: datetime,
                        set_clock: Callable[[datetime], None]) -> int:
    """Print each step; returns the number of failed checks (0 when the story held)."""
    from handlers.jobs import check_deadlines

    failures = 0
    staff = StaffClient(system)
    set_clock(monday_morning)
    click.echo("\n=== 投诉全流程：来电受理 → 超时升级 → 回访不满意重办 → 回访满意归档")
    call = system.standin.start_call(CALLER, HOTLINE_NUMBER,
                                     CallScript([press("2"), wait(3600), hangup()]))
    system.standin.wait_for_queue("hold-complaint", 1, timeout=30)
    made = staff("seat", "POST", "/api/complaints", {
        "call_sid": call.sid, "contact_name": "陈先生", "subject": "宽带多扣月费",
        "description": "11月账单多扣30元", "demands": ["refund"], "class": "class_1",
        "level": "L1", "urgency": "normal", "announce": True})
    number = made["number"]
    click.echo(f"坐席 {PEOPLE['seat'][1]} 登记投诉单 {number}，系统向来电者播报编号和查询密码：")
    click.echo(call.wait(120).render())
    if wait_until(lambda: any(number in m.body for m in system.standin.messages), 30):
        sms = next(m for m in system.standin.messages if number in m.body)
        click.echo(f"受理短信 → {sms.to}: {sms.body}")
    else:
        failures += 1
        click.echo("!!! no acknowledgment SMS", err=True)

    set_clock(monday_morning + timedelta(hours=1, minutes=1))
    with system.app.app_context():  # type: ignore[union-attr]
        escalated = check_deadlines()
    shown = staff("supervisor", "GET", f"/api/complaints/{number}")
    click.echo(f"\n一小时后仍未转交：SLA 检查处理 {escalated} 次超时，当前处理人角色："
               f"{shown.get('role')}")
    failures += shown.get("role") != "room_lead"

    unhappy = system.standin.expect_call(CALLER, CallScript([press("2")]))
    staff("lead", "POST", f"/api/complaints/{number}/advance", {"opinion": "室负责人接手，转核实"})
    staff("lead", "POST", f"/api/complaints/{number}/advance", {"opinion": "核实属实"})
    staff("lead", "POST", f"/api/complaints/{number}/advance",
          {"opinion": "同意退款", "result": "已退还多扣的三十元"})
    click.echo("\n处理完毕，回访电话（来电者按2：不满意）：")
    click.echo(unhappy.wait(120).render())
    wait_until(lambda: staff("supervisor", "GET", f"/api/complaints/{number}")["stage"]
               == "reopen", 30)

    happy = system.standin.expect_call(CALLER, CallScript([press("5")]))
    staff("room", "POST", f"/api/complaints/{number}/advance",
          {"opinion": "重新核实，另补偿话费", "result": "已退款并补偿五十元话费"})
    click.echo("\n重新处理后的回访电话（来电者按5：非常满意）：")
    click.echo(happy.wait(120).render())
    archived = wait_until(lambda: staff("supervisor", "GET", f"/api/complaints/{number}")[
        "stage"] == "archive", 30)
    failures += not archived

    trail = staff("supervisor", "GET", f"/api/complaints/{number}/trail")["trail"]
    click.echo(f"\n投诉单 {number} 的处理轨迹（全程留痕）：")
    for event in trail:
        if event["action"] == "viewed":
            continue
        actor = event["actor"]
        who = f"{actor.get('name') or actor.get('id') or '系统'}({actor.get('role') or '-'})"
        click.echo(f"  {event['at']}  {event['action']:<18} {event['stage'] or '':<9} {who}  "
                   f"{event.get('opinion') or ''}")
    return failures
